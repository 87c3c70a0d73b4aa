"""Sign up and log in with GitHub, Google or any OpenID Connect provider (``saaskit[oauth]``).

See :mod:`saaskit.oauth.service` for the rules, :mod:`saaskit.oauth.flow` for ``state``,
the browser binding and the handoff code, :mod:`saaskit.oauth.providers` for the provider
protocols and ID token checks.
"""

from saaskit.oauth.schemas import OAuthSettings, ProviderSettings
from saaskit.oauth.service import OAuthService
from saaskit.oauth.wiring import OAuthFeature

__all__ = ["OAuthFeature", "OAuthService", "OAuthSettings", "ProviderSettings"]

"""The OAuth login feature's contribution to the kit (off unless providers are configured)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

from saaskit.exceptions import require_module
from saaskit.features import DataExporter, Feature, FeatureError, FeatureHost, read_section
from saaskit.oauth.errors import (
    OAuthAccountExists,
    OAuthAlreadyLinked,
    OAuthEmailUnverified,
    OAuthHandoffInvalid,
    OAuthLastLoginMethod,
    OAuthNotLinked,
    OAuthProviderError,
    OAuthProviderNotFound,
    OAuthRedirectNotAllowed,
    OAuthStateInvalid,
)
from saaskit.oauth.models import OAUTH_TABLES, OAuthAccountMixin
from saaskit.oauth.schemas import OAuthSettings
from saaskit.oauth.service import ACTIONS, LinkedAccountsExporter, OAuthService
from saaskit.ratelimit import RateLimiter
from saaskit.settings import SaaSKitSettings
from saaskit.store import Store

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = ["OAuthFeature"]


class OAuthKit(FeatureHost, Protocol):
    """What the OAuth feature is built from (:class:`saaskit.SaaSKit` has it)."""

    @property
    def store(self) -> Store: ...

    @property
    def limiter(self) -> RateLimiter: ...

    @property
    def auth(self) -> Any:
        """The kit's :class:`~saaskit.auth.service.AuthService`."""
        ...

    @property
    def dependencies(self) -> Any:
        """The kit's :class:`~saaskit.auth.dependencies.AuthDependencies`."""
        ...

    @property
    def authenticator(self) -> Any:
        """The kit's :class:`~saaskit.auth.credentials.Authenticator`."""
        ...


class OAuthFeature(Feature[OAuthService]):
    """Sign in with a provider: ``/api/v1/oauth`` (GitHub, Google, any OpenID Connect issuer).

    Off unless ``SAASKIT_OAUTH__PROVIDERS`` names a provider; needs ``saaskit[oauth]``
    (Authlib) once a flow starts. The table comes with saaskit's migrations either way.
    """

    name = "oauth"
    settings_model = OAuthSettings
    prefix = "/oauth"
    tags = ("oauth",)
    tables = OAUTH_TABLES
    errors = (
        OAuthProviderNotFound,
        OAuthRedirectNotAllowed,
        OAuthStateInvalid,
        OAuthProviderError,
        OAuthEmailUnverified,
        OAuthAccountExists,
        OAuthAlreadyLinked,
        OAuthNotLinked,
        OAuthLastLoginMethod,
        OAuthHandoffInvalid,
    )
    audit_actions = ACTIONS

    def __init__(self, settings: OAuthSettings | None = None) -> None:
        self.settings = settings  # else read from SAASKIT_OAUTH__*

    def enabled(self, settings: SaaSKitSettings) -> bool:
        """On when at least one provider is configured."""
        own = self.settings or read_section(settings, self.name, OAuthSettings)
        return own.enabled

    def production_warnings(self, settings: SaaSKitSettings) -> list[str]:
        """Kept provider tokens sealed with a key derived from the secret key."""
        own = self.settings or read_section(settings, self.name, OAuthSettings)
        if not own.store_provider_tokens or own.token_key is not None:
            return []
        return [
            "SAASKIT_OAUTH__STORE_PROVIDER_TOKENS is on without SAASKIT_OAUTH__TOKEN_KEY: the "
            "kept provider tokens are sealed with a key derived from SAASKIT_SECRET_KEY, so "
            "rotating that key makes them unreadable (users link again); set the token key "
            "to its own random value (`saaskit secret`)."
        ]

    def build(self, kit: FeatureHost) -> OAuthService:
        """The service (needs ``saaskit[oauth]``: checked here, when the kit is built)."""
        require_module("authlib", "oauth")
        require_module("httpx2", "oauth")
        host = cast(OAuthKit, kit)
        own = cast(OAuthSettings, host.feature_settings(self.name))
        if host.settings.is_production and not own.callback_base_url.startswith("https://"):
            # The callback carries the authorization code and the binding cookie must be
            # Secure: a plain-http callback in production is a misconfiguration.
            raise FeatureError(
                "SAASKIT_OAUTH__CALLBACK_BASE_URL must be an https:// URL in production"
            )
        return OAuthService(
            table=cast(type[OAuthAccountMixin], host.models.tables["oauth_account"]),
            session_factory=host.session_factory,
            store=host.store,
            auth=host.auth,
            audit=host.audit,
            limiter=host.limiter,
            settings=own,
            api_prefix=host.settings.api_prefix,
            frontend_url=host.settings.email.frontend_url,
            cors_origins=host.settings.cors.origins,
            sealer=_sealer(own, host.settings) if own.store_provider_tokens else None,
        )

    def router(self, kit: FeatureHost, service: OAuthService | None) -> APIRouter | None:
        """The login, link and account routes."""
        from saaskit.oauth.router import build_oauth_router

        if service is None:
            return None
        from saaskit.auth.dependencies import Authenticate

        host = cast(OAuthKit, kit)
        deps = host.dependencies
        principal = Authenticate(
            host.authenticator, active=True, recent_seconds=host.auth.reauthentication_window
        )
        return build_oauth_router(
            kit, service, deps.current_reauthenticated_user, deps.current_session_user, principal
        )

    def exporters(self, service: OAuthService) -> Sequence[DataExporter]:
        """The linked accounts, in a user's privacy export (erasure: the rows cascade)."""
        return (LinkedAccountsExporter(service),)

    async def aclose(self, service: OAuthService) -> None:
        """Nothing to release."""
        await service.aclose()


def _sealer(own: OAuthSettings, settings: Any) -> Any:
    """The sealer of kept provider tokens: the token key, else the signing key."""
    from saaskit.oauth.tokens import TokenSealer
    from saaskit.signing_key import signing_key

    root = own.token_key.get_secret_value() if own.token_key else signing_key(settings)
    return TokenSealer(root)

"""API keys for users and organizations, with scopes (a credential reader, ``"api_key"``).

See :mod:`saaskit.apikeys.format` for the key format, :mod:`saaskit.apikeys.service` for
storage, caching and revocation, :mod:`saaskit.apikeys.reader` for the hot path.
"""

from saaskit.apikeys.reader import API_KEY, ApiKeyReader
from saaskit.apikeys.schemas import ApiKeysSettings
from saaskit.apikeys.service import ApiKeyService

__all__ = ["API_KEY", "ApiKeyReader", "ApiKeyService", "ApiKeysSettings"]

"""The API keys feature's errors, each with its own HTTP status."""

from __future__ import annotations

from saaskit.exceptions import SaaSKitError

__all__ = ["ApiKeyExpiryInvalid", "ApiKeyLimitReached", "ApiKeyNotFound", "ApiKeyScopeInvalid"]


class ApiKeyNotFound(SaaSKitError):
    """No such key among the caller's (or the organization's) keys."""

    code = "api_key_not_found"
    status = 404
    message = "No such API key."


class ApiKeyScopeInvalid(SaaSKitError):
    """A requested scope is unknown, or more than the creator may grant (422)."""

    code = "api_key_scope_invalid"
    status = 422
    message = "A requested scope is unknown or beyond what you may grant."


class ApiKeyLimitReached(SaaSKitError):
    """The owner has as many live keys as the settings allow (409)."""

    code = "api_key_limit"
    status = 409
    message = "Too many API keys; revoke one first."


class ApiKeyExpiryInvalid(SaaSKitError):
    """The expiry is in the past (422)."""

    code = "api_key_expiry_invalid"
    status = 422
    message = "A key's expiry must be in the future."

"""Domain exceptions raised by saaskit services.

They never import FastAPI: the CLI, tasks and tests call services directly. Routers turn
them into HTTP responses through :mod:`saaskit.errors`, using each class's ``code``.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Every error code a saaskit response can carry (``{"error": {"code": ...}}``)."""

    ERROR = "error"
    INTERNAL_ERROR = "internal_error"
    VALIDATION_ERROR = "validation_error"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    HTTP_ERROR = "http_error"
    INVALID_CREDENTIALS = "invalid_credentials"
    INVALID_TOKEN = "invalid_token"  # noqa: S105
    NOT_AUTHENTICATED = "not_authenticated"
    INACTIVE_USER = "inactive_user"
    PERMISSION_DENIED = "permission_denied"
    EMAIL_ALREADY_REGISTERED = "email_already_registered"
    INVALID_PASSWORD = "invalid_password"  # noqa: S105
    USER_NOT_FOUND = "user_not_found"
    SESSION_NOT_FOUND = "session_not_found"
    RATE_LIMITED = "rate_limited"
    SERVICE_UNAVAILABLE = "service_unavailable"


class SaaSKitError(Exception):
    """Base class: ``code`` is the stable machine-readable error code."""

    code: ErrorCode = ErrorCode.ERROR
    message = "Something went wrong."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or type(self).message
        super().__init__(self.message)


class InvalidCredentials(SaaSKitError):
    code = ErrorCode.INVALID_CREDENTIALS
    message = "Incorrect email or password."


class InvalidToken(SaaSKitError):
    code = ErrorCode.INVALID_TOKEN
    message = "The token is invalid or has expired."


class NotAuthenticated(SaaSKitError):
    code = ErrorCode.NOT_AUTHENTICATED
    message = "Authentication required."


class InactiveUser(SaaSKitError):
    code = ErrorCode.INACTIVE_USER
    message = "This account is inactive."


class PermissionDenied(SaaSKitError):
    code = ErrorCode.PERMISSION_DENIED
    message = "You do not have permission to do this."


class EmailAlreadyRegistered(SaaSKitError):
    code = ErrorCode.EMAIL_ALREADY_REGISTERED
    message = "An account with this email already exists."


class InvalidPassword(SaaSKitError):
    """A new password breaks the password policy (too short, too long, too common)."""

    code = ErrorCode.INVALID_PASSWORD
    message = "The password does not meet the password policy."


class UserNotFound(SaaSKitError):
    code = ErrorCode.USER_NOT_FOUND
    message = "No such user."


class SessionNotFound(SaaSKitError):
    code = ErrorCode.SESSION_NOT_FOUND
    message = "No such session."


class RateLimited(SaaSKitError):
    code = ErrorCode.RATE_LIMITED
    message = "Too many requests; try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class ServiceUnavailable(SaaSKitError):
    code = ErrorCode.SERVICE_UNAVAILABLE
    message = "A backing service is unavailable; try again shortly."


class MissingExtra(ImportError):
    """An optional integration was used without its extra installed."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"{module!r} is not installed; install it with: pip install 'saaskit[{extra}]'"
        )
        self.extra = extra


def require_module(module: str, extra: str) -> None:
    """Raise :class:`MissingExtra` naming ``extra`` when ``module`` cannot be imported."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingExtra(module, extra)

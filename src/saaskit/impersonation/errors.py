"""The impersonation feature's errors, each with its own HTTP status."""

from __future__ import annotations

from saaskit.exceptions import SaaSKitError

__all__ = ["ImpersonationNotAllowed", "NotImpersonating"]


class ImpersonationNotAllowed(SaaSKitError):
    """The target may not be impersonated: a superuser, or an inactive account (403)."""

    code = "impersonation_not_allowed"
    status = 403
    message = "This account cannot be impersonated (a superuser or an inactive account)."


class NotImpersonating(SaaSKitError):
    """Ending an impersonation with a token that is not an impersonation's (403)."""

    code = "not_impersonating"
    status = 403
    message = "This token is not an impersonation token."

"""The OAuth login feature's errors, each with its own HTTP status.

Errors found while the browser is at the callback (after the ``state`` checked out) are
not answered as JSON: the browser is redirected to the page that started the flow with
``?error=<code>`` so the frontend can say what happened. Every other route answers in
saaskit's error envelope.
"""

from __future__ import annotations

from saaskit.exceptions import SaaSKitError

__all__ = [
    "OAuthAccountExists",
    "OAuthAlreadyLinked",
    "OAuthEmailUnverified",
    "OAuthHandoffInvalid",
    "OAuthLastLoginMethod",
    "OAuthNotLinked",
    "OAuthProviderError",
    "OAuthProviderNotFound",
    "OAuthRedirectNotAllowed",
    "OAuthStateInvalid",
]


class OAuthProviderNotFound(SaaSKitError):
    """No provider is configured under that key (404)."""

    code = "oauth_provider_not_found"
    status = 404
    message = "No such login provider."


class OAuthRedirectNotAllowed(SaaSKitError):
    """``redirect_to`` is not on an allowed origin (422)."""

    code = "oauth_redirect_not_allowed"
    status = 422
    message = (
        "This redirect URL is not on an allowed origin (settings: oauth.allowed_redirect_origins)."
    )


class OAuthStateInvalid(SaaSKitError):
    """The callback's ``state`` is unknown, expired, used, or was started by another browser."""

    code = "oauth_state_invalid"
    status = 400
    message = "This login link is invalid or has expired; start again."


class OAuthProviderError(SaaSKitError):
    """The provider refused, or its answer failed a check (ID token, PKCE, code) (502-class).

    Answered 400: the browser came back with something that cannot be trusted, which may be
    an attacker's doing as much as the provider's.
    """

    code = "oauth_provider_error"
    status = 400
    message = "The login provider's answer could not be verified; start again."


class OAuthEmailUnverified(SaaSKitError):
    """The provider does not say the email is verified: no sign-up, no linking (403)."""

    code = "oauth_email_unverified"
    status = 403
    message = "The provider does not vouch for this email address; verify it there first."


class OAuthAccountExists(SaaSKitError):
    """An account has this email: log in to it and link the provider from its settings (409)."""

    code = "oauth_account_exists"
    status = 409
    message = (
        "An account with this email already exists. Log in to it (with its password) and "
        "link this provider from your account settings."
    )


class OAuthAlreadyLinked(SaaSKitError):
    """The provider account is someone's already, or the user has one of this provider (409)."""

    code = "oauth_already_linked"
    status = 409
    message = "This provider account is already linked (to you or to another account)."


class OAuthNotLinked(SaaSKitError):
    """The caller has no account of that provider linked (404)."""

    code = "oauth_not_linked"
    status = 404
    message = "No account of this provider is linked."


class OAuthLastLoginMethod(SaaSKitError):
    """Unlinking would leave no way to log in (409)."""

    code = "oauth_last_login_method"
    status = 409
    message = (
        "This is your only way to log in; set a password (forgot-password) or link another "
        "provider first."
    )


class OAuthHandoffInvalid(SaaSKitError):
    """The handoff code is unknown, expired or used (400)."""

    code = "oauth_handoff_invalid"
    status = 400
    message = "This login code is invalid or has expired; log in again."

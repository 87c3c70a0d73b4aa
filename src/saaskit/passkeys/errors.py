"""The passkeys feature's errors, each with its own HTTP status."""

from __future__ import annotations

from saaskit.exceptions import SaaSKitError

__all__ = [
    "PasskeyChallengeInvalid",
    "PasskeyLimitReached",
    "PasskeyLoginFailed",
    "PasskeyNotFound",
    "PasskeyRegistrationInvalid",
]


class PasskeyChallengeInvalid(SaaSKitError):
    """The challenge id is unknown, expired, already used, or another user's (400)."""

    code = "passkey_challenge_invalid"
    status = 400
    message = "The passkey challenge is unknown, expired or already used; start again."


class PasskeyRegistrationInvalid(SaaSKitError):
    """The authenticator's answer does not verify, or the credential is already registered."""

    code = "passkey_registration_invalid"
    status = 400
    message = "The passkey could not be registered."


class PasskeyLoginFailed(SaaSKitError):
    """One answer for every refused passkey login (401): no oracle on which part failed."""

    code = "passkey_login_failed"
    status = 401
    message = "The passkey was not accepted."


class PasskeyNotFound(SaaSKitError):
    """No such passkey among the caller's (404)."""

    code = "passkey_not_found"
    status = 404
    message = "No such passkey."


class PasskeyLimitReached(SaaSKitError):
    """The user has as many passkeys as the settings allow (409)."""

    code = "passkey_limit"
    status = 409
    message = "Too many passkeys; remove one first."

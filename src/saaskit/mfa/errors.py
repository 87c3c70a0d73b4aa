"""The 2FA feature's errors, each with its own HTTP status."""

from __future__ import annotations

from saaskit.exceptions import SaaSKitError

__all__ = [
    "MfaAlreadyEnabled",
    "MfaChallengeInvalid",
    "MfaCodeInvalid",
    "MfaEnrollmentMissing",
    "MfaNotEnabled",
    "MfaUnavailable",
]


class MfaCodeInvalid(SaaSKitError):
    """The TOTP or recovery code is wrong, expired or already used (401).

    One answer for every reason: a replayed code looks like a wrong one.
    """

    code = "mfa_code_invalid"
    status = 401
    message = "The code is not valid."


class MfaChallengeInvalid(SaaSKitError):
    """The challenge token is unknown, expired or already used: log in again (401)."""

    code = "mfa_challenge_invalid"
    status = 401
    message = "The sign-in challenge is not valid or has expired; log in again."


class MfaAlreadyEnabled(SaaSKitError):
    """Two-factor authentication is already on (409): disable it first."""

    code = "mfa_already_enabled"
    status = 409
    message = "Two-factor authentication is already on."


class MfaNotEnabled(SaaSKitError):
    """The action needs two-factor authentication on, and it is off (409)."""

    code = "mfa_not_enabled"
    status = 409
    message = "Two-factor authentication is not on for this account."


class MfaEnrollmentMissing(SaaSKitError):
    """A confirmation without a pending enrollment (409): ask for a secret first."""

    code = "mfa_enrollment_missing"
    status = 409
    message = "No pending enrollment: request a secret first (POST /mfa/totp/setup)."


class MfaUnavailable(SaaSKitError):
    """The stored secret cannot be read with the configured key (503).

    ``SAASKIT_SECRET_KEY`` (or ``SAASKIT_MFA__SECRET_KEY``) changed: an admin resets the
    user's 2FA, or the old key is restored.
    """

    code = "mfa_unavailable"
    status = 503
    message = "Two-factor authentication cannot be checked right now; contact support."

"""The 2FA settings section (``SAASKIT_MFA__*``) and request/response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, StringConstraints, model_validator

from saaskit.settings import Limit, RateLimit

__all__ = [
    "MfaAdminStatus",
    "MfaProof",
    "MfaSettings",
    "MfaStatus",
    "MfaVerify",
    "OrgMfaPolicy",
    "RecoveryCodeSet",
    "TotpConfirm",
    "TotpSetup",
]

TotpCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
RecoveryCode = Annotated[str, StringConstraints(min_length=16, max_length=24)]


class MfaSettings(BaseModel):
    """``SAASKIT_MFA__*``: two-factor authentication (TOTP and recovery codes)."""

    enabled: bool = Field(
        True,
        description="Mount the 2FA routes and ask for a second factor at login from users "
        "who turned it on. Off: logins never ask (users' factors stay stored).",
    )
    issuer: str | None = Field(
        None,
        max_length=64,
        description="The name authenticator apps show (default: `SAASKIT_PROJECT_NAME`).",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="The key that seals TOTP secrets and hashes recovery codes (default: "
        "derived from `SAASKIT_SECRET_KEY`). Set it before you ever rotate the secret key: "
        "otherwise every enrolled user needs a reset.",
    )
    challenge_ttl_seconds: int = Field(
        300, ge=30, le=1800, description="How long a login's 2FA challenge lives."
    )
    attempts_per_challenge: int = Field(
        5, ge=1, le=20, description="Wrong codes one challenge takes before it is burned."
    )
    attempts_per_account: Limit = Field(
        RateLimit(limit=10, window_seconds=900),
        description="Code checks per account (logins, disabling, regenerating).",
    )
    attempts_per_ip: Limit = Field(
        RateLimit(limit=50, window_seconds=900), description="Code checks per client IP."
    )
    recovery_codes: int = Field(10, ge=4, le=20, description="Recovery codes per set.")
    enrollment_ttl_seconds: int = Field(
        900, ge=60, description="How long a requested secret waits for its confirmation."
    )


class MfaProof(BaseModel):
    """A second factor: a TOTP code or a recovery code (exactly one)."""

    code: TotpCode | None = Field(None, description="The 6 digits of the authenticator app.")
    recovery_code: RecoveryCode | None = Field(
        None, description="One of the recovery codes (spent once used)."
    )

    @model_validator(mode="after")
    def _one(self) -> MfaProof:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("send exactly one of code and recovery_code")
        return self


class MfaVerify(MfaProof):
    """The second step of a login: the challenge and a code."""

    challenge_token: str = Field(
        min_length=20, max_length=100, description="From the 403 `mfa_required` answer."
    )


class ReauthenticatedProof(MfaProof):
    """The current password and a code (disabling, regenerating recovery codes)."""

    password: str = Field(min_length=1, max_length=1024)


class TotpConfirm(BaseModel):
    """The first code from the app, which turns 2FA on."""

    code: TotpCode


class TotpSetup(BaseModel):
    """A new secret: add it to an authenticator app, then confirm with a code."""

    secret: str = Field(description="Base32, for typing into the app by hand.")
    otpauth_uri: str = Field(description="The `otpauth://totp/...` URI (what the QR holds).")
    qr_svg: str | None = Field(
        None, description="The URI as an SVG QR code (with the `qrcode` extra installed)."
    )
    expires_at: datetime = Field(description="Confirm before this, or request a new secret.")


class RecoveryCodeSet(BaseModel):
    """Single-use recovery codes: shown this once, stored hashed."""

    recovery_codes: list[str]


class MfaStatus(BaseModel):
    """Whether the caller has 2FA on."""

    enabled: bool
    confirmed_at: datetime | None = None
    recovery_codes_remaining: int = 0


class MfaAdminStatus(MfaStatus):
    """A user's 2FA, as a superuser sees it."""

    user_id: int


class OrgMfaPolicy(BaseModel):
    """Whether an organization requires 2FA of its members."""

    required: bool

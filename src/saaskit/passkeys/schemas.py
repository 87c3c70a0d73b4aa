"""The passkeys settings section (``SAASKIT_PASSKEYS__*``) and request/response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from saaskit.settings import Limit, RateLimit
from saaskit.text import SingleLine

__all__ = [
    "PasskeyLoginVerify",
    "PasskeyOptions",
    "PasskeyRead",
    "PasskeyRegisterOptions",
    "PasskeyRegisterVerify",
    "PasskeysSettings",
]


class PasskeysSettings(BaseModel):
    """``SAASKIT_PASSKEYS__*``: passkeys (WebAuthn) to register and to log in with."""

    enabled: bool = Field(
        False, description="Mount the passkey routes (needs `pip install 'saaskit[passkeys]'`)."
    )
    rp_id: str = Field(
        "localhost",
        min_length=1,
        max_length=253,
        description="The relying party id: the site's domain (`example.com`), never an IP.",
    )
    rp_name: str = Field("SaaSKit", min_length=1, max_length=100, description="Shown by browsers.")
    origins: list[str] = Field(
        default_factory=list,
        description="The exact origins the ceremonies may run on (`https://app.example.com`, "
        "port included, no trailing slash). Required when enabled.",
    )
    challenge_seconds: int = Field(
        300, ge=10, le=3600, description="How long a challenge may be answered (single use)."
    )
    max_passkeys_per_user: int = Field(20, ge=1, le=100, description="Passkeys per user.")
    login_per_ip: Limit = Field(
        RateLimit(limit=30, window_seconds=300),
        description="Passkey login attempts (options and verify, each) per client IP.",
    )


class PasskeyOptions(BaseModel):
    """A ceremony's options for the browser, and the id to answer the challenge with."""

    challenge_id: str = Field(description="Send it back with the authenticator's answer.")
    options: dict[str, Any] = Field(
        description="`publicKey` options as JSON (binary fields base64url-encoded)."
    )


class PasskeyRegisterOptions(BaseModel):
    """Body of ``POST /passkeys/register/options`` (may be empty)."""


class PasskeyRegisterVerify(BaseModel):
    """The answer of ``navigator.credentials.create()``."""

    challenge_id: str = Field(min_length=1, max_length=64)
    credential: dict[str, Any] = Field(description="The `PublicKeyCredential`, as JSON.")
    name: SingleLine = Field("Passkey", min_length=1, max_length=100)


class PasskeyLoginVerify(BaseModel):
    """The answer of ``navigator.credentials.get()``."""

    challenge_id: str = Field(min_length=1, max_length=64)
    credential: dict[str, Any] = Field(description="The `PublicKeyCredential`, as JSON.")


class PasskeySecondFactorStart(BaseModel):
    """The challenge of a login that answered 403 ``mfa_required``."""

    challenge_token: str = Field(
        min_length=20, max_length=100, description="From the 403 `mfa_required` answer."
    )


class PasskeySecondFactorVerify(PasskeyLoginVerify):
    """The answer of ``navigator.credentials.get()`` for a login's second step."""

    challenge_token: str = Field(
        min_length=20, max_length=100, description="From the 403 `mfa_required` answer."
    )


class PasskeyRead(BaseModel):
    """A passkey, as its owner sees it."""

    id: str
    name: str
    transports: list[str]
    backed_up: bool
    created_at: datetime
    last_used_at: datetime | None

"""The API keys settings section (``SAASKIT_API_KEYS__*``) and request/response bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from saaskit.settings import Limit, RateLimit
from saaskit.text import SingleLine

__all__ = [
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyRead",
    "ApiKeyRename",
    "ApiKeysSettings",
]


class ApiKeysSettings(BaseModel):
    """``SAASKIT_API_KEYS__*``: API keys for users and organizations."""

    enabled: bool = Field(True, description="Accept API keys and mount the key routes.")
    prefix: str | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9]{0,9}_(?:[a-z0-9]{1,10}_)?$",
        description="The start of every key, for secret scanners (default: `sk_live_` in "
        "production, `sk_test_` otherwise).",
    )
    scopes: list[str] = Field(
        default_factory=list,
        description="The scopes the host declares (`reports:read`, ...): what a personal key "
        "may carry. An organization key may also carry organization permissions its creator "
        "has.",
    )
    header: str = Field(
        "X-API-Key",
        description="The header a key may be sent in (besides `Authorization: Bearer`).",
    )
    max_keys_per_owner: int = Field(50, ge=1, description="Live keys per user or organization.")
    cache_seconds: int = Field(
        300, ge=1, description="How long a key's record stays cached in the store."
    )
    last_used_flush_seconds: int = Field(
        60,
        ge=1,
        description="How often each process writes the `last_used_at`/`last_used_ip` it "
        "saw (one batched update): how stale they may be.",
    )
    recent_ips: int = Field(
        10, ge=1, le=100, description="Recent client IPs remembered per key (a new one is audited)."
    )
    rate_limit: Limit | None = Field(
        RateLimit(limit=600, window_seconds=60),
        description="Requests per key (`600/1m`); unset: no per-key limit.",
    )
    failures_per_ip: Limit = Field(
        RateLimit(limit=30, window_seconds=300),
        description="Refused keys per client IP before it gets 429.",
    )
    lookups_per_ip: Limit = Field(
        RateLimit(limit=300, window_seconds=300),
        description="Database lookups of keys not in the cache, per client IP.",
    )

    def key_prefix(self, production: bool) -> str:
        """The prefix of new keys (and of the keys this kit reads)."""
        return self.prefix or ("sk_live_" if production else "sk_test_")


class ApiKeyCreate(BaseModel):
    """A new key: its name, scopes and optional expiry."""

    name: SingleLine = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="Scopes (declared by the app, or organization permissions for an "
        "organization key).",
    )
    expires_at: datetime | None = Field(None, description="When the key stops working.")


class ApiKeyRename(BaseModel):
    """A key's new name."""

    name: SingleLine = Field(min_length=1, max_length=100)


class ApiKeyRead(BaseModel):
    """A key as its owner sees it (never its secret)."""

    id: str = Field(description="The key's public identifier.")
    name: str
    scopes: list[str]
    organization_id: int | None
    created_by: int
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(
        description="Approximate: written in batches (see `last_used_flush_seconds`)."
    )
    last_used_ip: str | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    """The key just made, with its secret: shown this once, never again."""

    key: str = Field(description="The secret key. Store it now: it is not shown again.")

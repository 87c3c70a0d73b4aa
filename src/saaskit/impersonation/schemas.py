"""Settings and request/response bodies of the impersonation routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from saaskit.auth.schemas import TokenPair

__all__ = ["ImpersonationSettings", "ImpersonationStart", "ImpersonationStarted"]


class ImpersonationSettings(BaseModel):
    """``SAASKIT_IMPERSONATION__*``: superusers acting as users for support."""

    enabled: bool = Field(True, description="Mount `POST /admin/impersonation` and its end.")
    ttl_minutes: int = Field(
        30,
        ge=1,
        le=480,
        description="How long an impersonation lasts: its tokens (refresh included) stop "
        "working then, and refreshing never extends it.",
    )


class ImpersonationStart(BaseModel):
    """Act as a user: who, and why (recorded in the audit log)."""

    user_id: int = Field(ge=1, le=2**31 - 1)
    reason: str = Field(
        min_length=3,
        max_length=500,
        description="Why (a support ticket, ...): required, kept in the audit event.",
    )


class ImpersonationStarted(TokenPair):
    """The impersonation's token pair (used like any login's) and its session."""

    session_id: str
    user_id: int
    impersonator_id: int
    ends_at: datetime

"""The privacy settings section (``SAASKIT_PRIVACY__*``) and request/response bodies."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "DeletionRead",
    "DeletionRequest",
    "ExportRead",
    "PrivacySettings",
    "RestoreRequest",
]


class PrivacySettings(BaseModel):
    """``SAASKIT_PRIVACY__*``: data exports and account deletion with a grace period."""

    enabled: bool = Field(
        False, description="Mount the privacy routes (exports, deletion) and run its tasks."
    )
    storage_dir: Path = Field(
        Path("saaskit-exports"),
        description="Where the local storage backend keeps export archives (every worker and "
        "app process must see the same directory; use a shared backend across hosts).",
    )
    export_link_hours: int = Field(
        48, ge=1, le=24 * 30, description="How long an export can be downloaded."
    )
    export_interval_hours: int = Field(
        24, ge=0, description="One export per user per this many hours (0: no limit)."
    )
    export_page_size: int = Field(
        1000, ge=10, le=10_000, description="Rows read per query while exporting."
    )
    download_path: str = Field(
        "/account/export",
        description="Frontend page the export email links to (`?export=<id>`); it downloads "
        "`GET /privacy/exports/{id}/download` with the user's credentials.",
    )
    deletion_grace_days: int = Field(
        30, ge=0, le=365, description="Days a deleted account can be restored before erasure."
    )
    restore_path: str = Field(
        "/account/restore",
        description="Frontend page the restore link opens (`?token=...`); it posts the token "
        "to `POST /privacy/deletion/restore`.",
    )
    sole_owner_orgs: Literal["transfer", "delete"] = Field(
        "transfer",
        description="An organization the erased user is the only owner of: `transfer` makes "
        "its next admin (else its oldest member) the owner, deleting it when nobody is left; "
        "`delete` deletes it (its subscription is canceled).",
    )
    delete_stripe_customer: bool = Field(
        True,
        description="Delete the user's Stripe customer at erasure (subscriptions are canceled "
        "either way); false keeps it in Stripe (e.g. for tax records).",
    )


class ExportRead(BaseModel):
    """A data export's state."""

    id: str = Field(description="The export's id (the download link's).")
    status: Literal["pending", "running", "ready", "failed", "expired"]
    created_at: datetime
    finished_at: datetime | None = None
    expires_at: datetime | None = Field(None, description="Downloadable until then.")
    size_bytes: int | None = None


class DeletionRequest(BaseModel):
    """The current password: deleting an account proves it again."""

    password: str = Field(min_length=1, max_length=1024)


class RestoreRequest(BaseModel):
    """The token of the restore link emailed when the deletion was scheduled."""

    token: str = Field(min_length=16, max_length=128)


class DeletionRead(BaseModel):
    """A scheduled (or finished) account deletion."""

    user_id: int
    status: Literal["scheduled", "erasing", "erased", "restored"]
    requested_at: datetime
    erase_after: datetime
    requested_by: int | None = None
    finished_at: datetime | None = None
    steps: list[str] = Field(default_factory=list, description="Erasure steps already done.")
    last_error: str | None = None

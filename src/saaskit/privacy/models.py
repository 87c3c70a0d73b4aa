"""The privacy tables: export requests and scheduled account deletions."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from saaskit.db.mixins import utcnow
from saaskit.features import TableSpec

__all__ = ["PRIVACY_TABLES", "AccountDeletionMixin", "DataExportMixin"]


class DataExportMixin:
    """One data export (GDPR art. 15/20): requested, built in the background, downloadable.

    ``public_id`` is 32 random bytes (URL-safe): the id in the download link. Knowing it is
    not enough to download: the archive is served to its owner only, signed in.
    """

    __user_table__: ClassVar[str] = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(43), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    @declared_attr
    def user_id(cls) -> Mapped[int]:
        """Whose data it holds; the row goes with the user."""
        return mapped_column(
            Integer,
            ForeignKey(f"{cls.__user_table__}.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )


class AccountDeletionMixin:
    """An account deletion: scheduled, restorable until ``erase_after``, then erased.

    ``user_id`` is a plain integer, not a foreign key: the row outlives the user (it
    records that the account was erased, and how far an interrupted erasure got).
    ``steps`` lists the erasure steps already done, so a failed erasure resumes where it
    stopped. ``email`` is kept only until the erasure finishes (the audit trail's failed
    logins name the address, and host hooks may need it); it is cleared then.
    ``was_active`` is whether the account was active before its first scheduling: a
    restore puts that back (a deactivated, e.g. banned, account stays deactivated), and
    a deactivated account gets no restore token. ``NULL`` (rows scheduled before the
    column existed) counts as active.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )
    erase_after: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, index=True
    )
    requested_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    restore_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    steps: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    was_active: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


PRIVACY_TABLES = (
    TableSpec("data_export", "DataExport", "privacy_exports", DataExportMixin, user_table=True),
    TableSpec("account_deletion", "AccountDeletion", "privacy_deletions", AccountDeletionMixin),
)
"""The privacy feature's tables (``kit.models.tables["data_export"]``, ...)."""

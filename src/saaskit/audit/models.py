"""The ``audit_events`` table: one row per security-relevant event.

Declared on the host's metadata by :func:`saaskit.tables.build_models` (also reachable as
``saaskit.db.build_models``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from saaskit.db.mixins import utcnow
from saaskit.features import TableSpec


class AuditEventMixin:
    """One security-relevant event: who did what to whom, from where, and how it went.

    ``actor_id`` and ``target_id`` are plain integers, not foreign keys: an audit trail
    must outlive the users it mentions. ``impersonator_id`` is the superuser who acted as
    ``actor_id`` through an impersonation token: such an event names both people.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        default=utcnow,  # microseconds on SQLite too
        server_default=func.now(),
        nullable=False,
        index=True,
    )
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    target_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(256), nullable=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    impersonator_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    """The superuser who acted as ``actor_id`` (an impersonation), if any."""


AUDIT_TABLES: tuple[TableSpec, ...] = (
    TableSpec("audit_event", "AuditEvent", "audit_events", AuditEventMixin),
)
"""The audit feature's tables (declared by :func:`saaskit.tables.build_models`)."""

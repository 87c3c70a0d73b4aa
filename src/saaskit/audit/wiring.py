"""The audit feature: its table, actions, router and its part of a privacy export.

The :class:`~saaskit.audit.service.AuditLog` itself is built by the kit before any
feature (authentication and users write to it), so :meth:`AuditFeature.build` hands
back the kit's log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select

from saaskit.audit.models import AUDIT_TABLES
from saaskit.audit.service import AuditAction, AuditLog
from saaskit.features import Feature, FeatureHost

if TYPE_CHECKING:
    from fastapi import APIRouter

EXPORT_BATCH = 500
"""Events read per query when exporting a user's trail."""


class AuditExporter:
    """The audit events a user did or was the target of, oldest first (privacy export)."""

    name = "audit_events"

    def __init__(self, log: AuditLog) -> None:
        self.log = log

    async def records(self, user_id: int) -> AsyncIterator[dict[str, Any]]:
        """Every event whose actor or target is ``user_id``, oldest first, page by page.

        Keyset-paged by id (:data:`EXPORT_BATCH` rows per query): a privacy export streams
        a long trail without holding it in memory.

        Args:
            user_id: the user whose events are exported.

        Yields:
            The events, as JSON-ready dicts.
        """
        model = self.log.model
        last = 0
        while True:
            async with self.log.session_factory() as db:
                rows = (
                    await db.execute(
                        select(
                            model.id,
                            model.action,
                            model.outcome,
                            model.actor_id,
                            model.target_id,
                            model.ip,
                            model.user_agent,
                            model.detail,
                            model.created_at,
                            model.impersonator_id,
                        )
                        .where(
                            (model.actor_id == user_id) | (model.target_id == user_id),
                            model.id > last,
                        )
                        .order_by(model.id)
                        .limit(EXPORT_BATCH)
                    )
                ).all()
            for row in rows:
                yield {
                    "action": row.action,
                    "outcome": row.outcome,
                    "actor_id": row.actor_id,
                    "target_id": row.target_id,
                    "ip": row.ip,
                    "user_agent": row.user_agent,
                    "detail": row.detail,
                    "impersonator_id": row.impersonator_id,
                    "created_at": row.created_at.isoformat(),
                }
            if len(rows) < EXPORT_BATCH:
                return
            last = rows[-1].id

    async def export(self, user_id: int) -> list[dict[str, Any]]:
        """Every event whose actor or target is ``user_id``, as JSON-ready dicts.

        Args:
            user_id: the user whose events are exported.

        Returns:
            The events, oldest first (all in memory: :meth:`records` streams them).
        """
        return [record async for record in self.records(user_id)]


class AuditFeature(Feature[AuditLog]):
    """``GET /audit`` for superusers and the ``audit_events`` table."""

    name = "audit"
    prefix = "/audit"
    tags = ("audit",)
    tables = AUDIT_TABLES
    audit_actions = tuple(AuditAction)

    def build(self, kit: FeatureHost) -> AuditLog:
        """The kit's audit log (built before the features)."""
        return cast(AuditLog, kit.audit)

    def router(self, kit: FeatureHost, service: AuditLog | None) -> APIRouter:
        """``GET /audit``."""
        from saaskit.audit.router import build_audit_router

        return build_audit_router(cast(Any, kit))

    def exporters(self, service: AuditLog) -> tuple[AuditExporter]:
        """The user's audit trail."""
        return (AuditExporter(service),)

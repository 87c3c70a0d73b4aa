"""The audit trail: security-relevant events written to the ``audit_events`` table.

Writing an event never breaks the request it describes: a failure is logged and
swallowed.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.audit.models import AuditEventMixin
from saaskit.db.engine import single_statements
from saaskit.db.replicas import ReadRouter
from saaskit.types import ClientInfo

logger = logging.getLogger("saaskit.audit")


class AuditAction(StrEnum):
    """Actions saaskit records."""

    REGISTER = "register"
    LOGIN = "login"
    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    SESSION_REVOKED = "session_revoked"
    REFRESH_TOKEN_REUSE = "refresh_token_reuse"
    PASSWORD_CHANGE = "password_change"
    PASSWORD_RESET = "password_reset"
    EMAIL_VERIFIED = "email_verified"
    EMAIL_CHANGE_REQUESTED = "email_change_requested"
    EMAIL_CHANGED = "email_changed"
    REAUTHENTICATED = "reauthenticated"
    USER_UPDATED = "user_updated"
    USER_DEACTIVATED = "user_deactivated"
    USER_DELETED = "user_deleted"


class AuditLog:
    """Writes and reads audit events."""

    def __init__(
        self,
        model: type[AuditEventMixin],
        session_factory: async_sessionmaker[AsyncSession],
        *,
        reads: ReadRouter | None = None,
    ) -> None:
        self.model = model
        self.session_factory = session_factory
        self.engine = single_statements(session_factory)
        # Reading the trail tolerates replication lag: a replica when there is one.
        self.reads = reads or ReadRouter(self.engine)
        self._insert = insert(model.__table__)  # type: ignore[attr-defined]

    async def record(
        self,
        action: AuditAction | str,
        *,
        outcome: str = "success",
        actor_id: int | None = None,
        target_id: int | None = None,
        client: ClientInfo | None = None,
        detail: dict[str, Any] | None = None,
        impersonator_id: int | None = None,
    ) -> None:
        """Write one event; never raises.

        ``impersonator_id`` (default: the client's) is the superuser acting as
        ``actor_id`` through an impersonation token.
        """
        values: dict[str, Any] = {
            "action": str(action),
            "outcome": outcome,
            "actor_id": actor_id,
            "target_id": target_id,
            "ip": client.ip if client else None,
            "user_agent": client.user_agent if client else None,
            "detail": detail,
            "impersonator_id": impersonator_id
            if impersonator_id is not None
            else (client.impersonator_id if client else None),
        }
        try:
            # One Core INSERT in autocommit: the ORM's unit of work and a transaction
            # would double the event loop's time per event (login is a hot path).
            async with self.engine.connect() as connection:
                await connection.execute(self._insert, values)
        except Exception:
            logger.exception("could not write audit event %s", values["action"])

    async def page(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        user_id: int | None = None,
        action: str | None = None,
    ) -> tuple[list[AuditEventMixin], int]:
        """Newest first; ``user_id`` matches the actor, the target or the impersonator.

        May read a replica.
        """
        query = select(self.model)
        if user_id is not None:
            query = query.where(
                (self.model.actor_id == user_id)
                | (self.model.target_id == user_id)
                | (self.model.impersonator_id == user_id)
            )
        if action:
            query = query.where(self.model.action == action)

        async def read(db: AsyncSession) -> tuple[list[AuditEventMixin], int]:
            total = await db.scalar(select(func.count()).select_from(query.subquery()))
            rows = await db.scalars(
                query.order_by(self.model.id.desc()).limit(limit).offset(offset)
            )
            return list(rows), int(total or 0)

        return await self.reads.run(read)

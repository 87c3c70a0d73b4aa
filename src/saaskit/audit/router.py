"""``GET /audit`` for superusers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, field_validator

from saaskit.audit.service import AuditLog
from saaskit.errors import error_responses
from saaskit.routing import body_limits, new_router
from saaskit.settings import SaaSKitSettings
from saaskit.types import Page, UserT, UserT_co


class SuperuserDependency(Protocol[UserT_co]):
    """The auth dependency that admits superusers only."""

    @property
    def current_superuser(self) -> Callable[..., Awaitable[UserT_co]]: ...

    @property
    def session_superuser(self) -> Callable[..., Awaitable[UserT_co]]: ...


class AuditRouterKit(Protocol[UserT_co]):
    """What the audit router needs of the kit (:class:`saaskit.SaaSKit` has it)."""

    @property
    def settings(self) -> SaaSKitSettings: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def dependencies(self) -> SuperuserDependency[UserT_co]: ...


class AuditEventRead(BaseModel):
    """One audit event as ``GET /audit`` shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    action: str
    outcome: str
    actor_id: int | None
    target_id: int | None
    ip: str | None
    user_agent: str | None
    detail: dict[str, Any] | None
    impersonator_id: int | None = None

    @field_validator("created_at")
    @classmethod
    def _assume_utc(cls, value: datetime) -> datetime:
        # SQLite returns naive UTC datetimes; RFC 3339 `date-time` needs an offset.
        return value if value.tzinfo else value.replace(tzinfo=UTC)


def build_audit_router(kit: AuditRouterKit[UserT]) -> APIRouter:
    """The superuser-only ``GET /audit`` route: audit events, newest first, filterable.

    Args:
        kit: the kit whose audit service, settings and dependencies the route uses.

    Returns:
        A router to include under the API prefix.
    """
    router = new_router(body_limits(kit.settings.http))

    @router.get(
        "",
        name="audit:list",
        response_model=Page[AuditEventRead],
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 403),
    )
    async def list_events(
        limit: int = Query(50, ge=1, le=200),
        offset: int = Query(0, ge=0, le=2**31 - 1),
        user_id: int | None = Query(
            None, ge=1, le=2**31 - 1, description="Events by or about this user."
        ),
        action: str | None = Query(None, max_length=64),
        _: UserT = Depends(kit.dependencies.session_superuser),  # administration: no API key
    ) -> Page[AuditEventRead]:
        events, total = await kit.audit.page(
            limit=limit, offset=offset, user_id=user_id, action=action
        )
        items = [AuditEventRead.model_validate(e) for e in events]
        return Page[AuditEventRead](items=items, total=total, limit=limit, offset=offset)

    return router

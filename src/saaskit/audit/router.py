"""``GET /audit`` for superusers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, field_validator

from saaskit.errors import error_responses
from saaskit.routing import body_limits, new_router
from saaskit.users.cache import UserT
from saaskit.users.schemas import Page

if TYPE_CHECKING:
    from saaskit.kit import SaaSKit


class AuditEventRead(BaseModel):
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

    @field_validator("created_at")
    @classmethod
    def _assume_utc(cls, value: datetime) -> datetime:
        # SQLite returns naive UTC datetimes; RFC 3339 `date-time` needs an offset.
        return value if value.tzinfo else value.replace(tzinfo=UTC)


def build_audit_router(kit: SaaSKit[UserT]) -> APIRouter:
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
        _: UserT = Depends(kit.dependencies.current_superuser),
    ) -> Page[AuditEventRead]:
        events, total = await kit.audit.page(
            limit=limit, offset=offset, user_id=user_id, action=action
        )
        items = [AuditEventRead.model_validate(e) for e in events]
        return Page[AuditEventRead](items=items, total=total, limit=limit, offset=offset)

    return router

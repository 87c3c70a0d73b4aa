"""``/api/v1/admin/orgs``: organizations for superusers.

Superusers get no implicit membership: the member routes (``/orgs/{id}/...``) answer them
404 like anyone who is not a member. They see and manage every organization here: list
and search, read one with its members, delete, and hand ownership to a member on the
owners' behalf. Every change is audited with the superuser as the actor
(``detail.by_admin``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select, update

from saaskit.errors import error_responses
from saaskit.exceptions import InvalidInput
from saaskit.orgs.errors import MemberNotFound, OrgNotFound
from saaskit.orgs.schemas import MemberRead, OrgDeleted, OwnershipTransfer
from saaskit.orgs.service import OWNER, OrgContext, OrgService
from saaskit.routing import body_limits, new_router
from saaskit.settings import HttpSettings
from saaskit.types import ClientInfo, Page

__all__ = ["AdminOrgDetail", "AdminOrgRead", "OrgAdmin", "build_admin_router"]

MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class AdminOrgRead(BaseModel):
    """An organization as a superuser sees it."""

    id: int
    name: str
    slug: str
    created_at: datetime
    members: int = Field(description="How many members it has.")


class AdminOrgDetail(AdminOrgRead):
    """An organization with a page of its members (``limit`` / ``offset``)."""

    owners: list[int] = Field(description="The user ids of its owners.")
    member_page: Page[MemberRead]


class OrgAdmin:
    """What a superuser does to organizations (no membership needed)."""

    def __init__(self, service: OrgService) -> None:
        self.service = service

    async def page(
        self, *, query: str | None, limit: int, offset: int
    ) -> tuple[list[tuple[Any, int]], int]:
        """Organizations by id with their member counts; ``query`` matches name or slug."""
        org, member = self.service.organization, self.service.membership
        where = []
        if query:
            pattern = "%" + _escape_like(query.lower()) + "%"
            where.append(
                or_(
                    func.lower(org.name).like(pattern, escape="\\"),
                    org.slug.like(pattern, escape="\\"),
                )
            )
        counts = (
            select(member.organization_id, func.count().label("n"))
            .group_by(member.organization_id)
            .subquery()
        )
        async with self.service.session_factory() as db:
            total = await db.scalar(select(func.count()).select_from(org).where(*where))
            rows = await db.execute(
                select(org, func.coalesce(counts.c.n, 0))
                .outerjoin(counts, counts.c.organization_id == org.id)
                .where(*where)
                .order_by(org.id)
                .limit(limit)
                .offset(offset)
            )
            return [(row[0], int(row[1])) for row in rows], int(total or 0)

    async def owners(self, org_id: int) -> list[int]:
        """The user ids of the organization's owners."""
        member = self.service.membership
        async with self.service.session_factory() as db:
            return list(
                await db.scalars(
                    select(member.user_id)
                    .where(member.organization_id == org_id, member.role == OWNER)
                    .order_by(member.user_id)
                )
            )

    async def delete(self, org_id: int, admin_id: int, client: ClientInfo | None) -> bool:
        """Delete the organization as its owners would (audited with the admin as actor).

        Returns:
            Whether its subscription was canceled at once (see ``OrgService.delete``).
        """
        org = await self.service.get(org_id)
        ctx = OrgContext(
            org_id, org.name, org.slug, admin_id, OWNER, self.service.permissions(OWNER)
        )
        return await self.service.delete(ctx, client)

    async def transfer(
        self, org_id: int, admin_id: int, target_id: int, client: ClientInfo | None
    ) -> list[int]:
        """Make member ``target_id`` the owner; the other owners become admins.

        Returns:
            The previous owners.

        Raises:
            OrgNotFound: no such organization.
            MemberNotFound: ``target_id`` is not a member.
        """
        service = self.service
        org, member = service.organization, service.membership
        async with service.session_factory() as db, db.begin():
            locked = await db.scalar(select(org.id).where(org.id == org_id).with_for_update())
            if locked is None:
                raise OrgNotFound()
            target = await db.scalar(
                select(member).where(member.organization_id == org_id, member.user_id == target_id)
            )
            if target is None:
                raise MemberNotFound()
            previous = list(
                await db.scalars(
                    select(member.user_id).where(
                        member.organization_id == org_id,
                        member.role == OWNER,
                        member.user_id != target_id,
                    )
                )
            )
            await db.execute(
                update(member)
                .where(member.organization_id == org_id, member.user_id.in_(previous))
                .values(role="admin")
            )
            target.role = OWNER
        await service.forget(org_id, target_id, *previous)
        await service.audit.record(
            "org_ownership_transferred",
            actor_id=admin_id,
            target_id=target_id,
            client=client,
            detail={"organization_id": org_id, "by_admin": True, "previous_owners": previous},
        )
        return previous


def build_admin_router(
    http: HttpSettings,
    admin: OrgAdmin,
    current_superuser: Callable[..., Awaitable[Any]],
    client_info: Callable[[Request], ClientInfo],
) -> APIRouter:
    """The superuser routes (mounted at ``/api/v1/admin/orgs``).

    Args:
        http: the kit's HTTP settings (body limits).
        admin: what the routes do.
        current_superuser: the dependency that admits superusers only (403 otherwise).
        client_info: where a request came from (for the audit trail).
    """
    router = new_router(body_limits(http))
    service = admin.service

    @router.get(
        "",
        name="orgs_admin:list",
        response_model=Page[AdminOrgRead],
        responses=error_responses(401, 403, 422),
        summary="List or search organizations (superusers)",
        description="By id; `q` matches part of the name or the slug (case-insensitively).",
    )
    async def list_orgs(
        q: str | None = Query(None, max_length=100, description="Part of the name or slug."),
        limit: int = Query(50, ge=1, le=200),
        offset: int = Query(0, ge=0, le=MAX_ID),
        _: Any = Depends(current_superuser),
    ) -> Page[AdminOrgRead]:
        if q is not None and "\x00" in q:  # PostgreSQL refuses NUL in text: a 422, not a 500
            raise InvalidInput("`q` must not contain the NUL character.")
        rows, total = await admin.page(query=q, limit=limit, offset=offset)
        items = [
            AdminOrgRead(
                id=o.id, name=o.name, slug=o.slug, created_at=_utc(o.created_at), members=n
            )
            for o, n in rows
        ]
        return Page(items=items, total=total, limit=limit, offset=offset)

    @router.get(
        "/{org_id}",
        name="orgs_admin:get",
        response_model=AdminOrgDetail,
        responses=error_responses(401, 403, 404),
        summary="An organization with its members (superusers)",
        description="`limit` / `offset` page the members. 404 `organization_not_found`.",
    )
    async def get_org(
        org_id: Id,
        limit: int = Query(50, ge=1, le=100),
        offset: int = Query(0, ge=0, le=MAX_ID),
        _: Any = Depends(current_superuser),
    ) -> AdminOrgDetail:
        org = await service.get(org_id)
        rows, total = await service.members(org_id, limit, offset)
        members = [
            MemberRead(
                user_id=m.user_id,
                email=u.email,
                full_name=u.full_name,
                role=m.role,
                joined_at=_utc(m.joined_at),
            )
            for m, u in rows
        ]
        return AdminOrgDetail(
            id=org.id,
            name=org.name,
            slug=org.slug,
            created_at=_utc(org.created_at),
            members=total,
            owners=await admin.owners(org_id),
            member_page=Page(items=members, total=total, limit=limit, offset=offset),
        )

    @router.delete(
        "/{org_id}",
        name="orgs_admin:delete",
        response_model=OrgDeleted,
        responses=error_responses(401, 403, 404, 409, 502, 503),
        summary="Delete an organization (superusers)",
        description="As its owner would (`DELETE /orgs/{id}`): its subscription is "
        "canceled in Stripe at once, then it is deleted; audited with the superuser as "
        "the actor. 404 `organization_not_found`; 503 `billing_unavailable` (nothing "
        "deleted; call again), 502 `billing_rejected`; 409 "
        "`organization_has_subscription` with a payment gateway that cannot cancel.",
    )
    async def delete_org(
        org_id: Id, request: Request, user: Any = Depends(current_superuser)
    ) -> OrgDeleted:
        canceled = await admin.delete(org_id, int(user.id), client_info(request))
        return OrgDeleted(id=org_id, subscription_canceled=canceled)

    @router.post(
        "/{org_id}/transfer",
        name="orgs_admin:transfer",
        status_code=204,
        responses=error_responses(401, 403, 404, 422),
        summary="Transfer ownership on the owners' behalf (superusers)",
        description="The member `user_id` becomes owner and every other owner admin. 404 "
        "`organization_not_found`, or `organization_member_not_found` for a user who is "
        "not a member.",
    )
    async def transfer_org(
        org_id: Id,
        body: OwnershipTransfer,
        request: Request,
        user: Any = Depends(current_superuser),
    ) -> Response:
        await admin.transfer(org_id, int(user.id), body.user_id, client_info(request))
        return Response(status_code=204)

    return router

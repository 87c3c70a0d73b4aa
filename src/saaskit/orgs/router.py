"""``/api/v1/orgs``: organizations, members, invitations and their audit trail.

Every route answers 404 to a caller who is not a member of the organization it names
(the same answer as for an organization that does not exist), and 403 to a member whose
role lacks the permission.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from saaskit.audit.router import AuditEventRead
from saaskit.errors import error_responses
from saaskit.features import FeatureHost
from saaskit.orgs.dependencies import OrgDependencies
from saaskit.orgs.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationRead,
    InvitationRegister,
    MemberRead,
    MemberRoleUpdate,
    OrgCreate,
    OrgDeleted,
    OrgRead,
    OrgUpdate,
    OwnershipTransfer,
)
from saaskit.orgs.service import OrgContext, OrgService
from saaskit.routing import body_limits, new_router
from saaskit.types import Page

__all__ = ["MAX_ID", "build_orgs_router"]

MAX_ID = 2**31 - 1
"""The largest id a route accepts (the tables' ids are 32-bit integers)."""

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
"""A path id: larger ones are refused (422) before they reach the database."""


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _org(org: Any, role: str) -> OrgRead:
    return OrgRead(
        id=org.id, name=org.name, slug=org.slug, created_at=_utc(org.created_at), role=role
    )


def _invitation(inv: Any) -> InvitationRead:
    return InvitationRead(
        id=inv.id,
        email=inv.email,
        role=inv.role,
        invited_by=inv.invited_by,
        created_at=_utc(inv.created_at),
        expires_at=_utc(inv.expires_at),
    )


def build_orgs_router(
    kit: FeatureHost,
    service: OrgService,
    deps: OrgDependencies,
    register: Any = None,
) -> APIRouter:
    """The organization routes (mounted at ``/api/v1/orgs``).

    Args:
        kit: the kit.
        service: the organizations service.
        deps: the organization dependencies.
        register: ``async (email, password, full_name, client) -> user``: create a
            verified account (the kit's registration), or ``None``: no such route.
    """
    router = new_router(body_limits(kit.settings.http))
    # Reads accept API keys; every change needs a login session (an interactive user).
    current_user = kit.current_session_user
    reading_user = kit.current_active_user
    # Deleting an organization (it cancels its subscription) and handing it over: the
    # owner in person, never a superuser impersonating them (403 impersonation_forbidden).
    dependencies = getattr(kit, "dependencies", None)
    owner_user = getattr(dependencies, "current_owner_user", current_user)
    current_org = deps.session_org
    reading_org = deps.current_org

    def reader(permission: str) -> Any:
        return deps.require_org_permission(permission)

    def client(request: Request) -> Any:
        return kit.client_info(request)

    @router.post(
        "/invitations/accept",
        name="orgs:accept_invitation",
        response_model=OrgRead,
        responses=error_responses(401, 402, 403, 404, 409, 422),
        summary="Accept an invitation",
        description="Join the organization with the invitation's token. The signed-in "
        "user's email must be verified and be the invited one (case-insensitively). "
        "404 `invitation_invalid` for an unknown, expired, used or revoked token; "
        "402 `organization_seat_limit` when every seat is taken; "
        "403 `invitation_email_mismatch`; 409 `organization_already_member`.",
    )
    async def accept(
        body: InvitationAccept, request: Request, user: Any = Depends(current_user)
    ) -> OrgRead:
        org, role = await service.accept(body.token, user, client(request))
        return _org(org, role)

    if register is not None:

        @router.post(
            "/invitations/register",
            name="orgs:register_with_invitation",
            response_model=OrgRead,
            status_code=201,
            responses=error_responses(402, 404, 409, 422, 429),
            summary="Register through an invitation",
            description="Create an account for the invited address and join. The address "
            "counts as verified: the token reached it. 404 `invitation_invalid`; 409 "
            "`email_already_registered` when the address has an account (sign in and "
            "accept instead, as `POST /auth/register` would answer); 402 "
            "`organization_seat_limit`.",
        )
        async def register_with_invitation(body: InvitationRegister, request: Request) -> OrgRead:
            email = await service.invited_email(body.token)
            user = await register(email, body.password, body.full_name, client(request))
            org, role = await service.accept(body.token, user, client(request))
            return _org(org, role)

    @router.post(
        "",
        name="orgs:create",
        response_model=OrgRead,
        status_code=201,
        responses=error_responses(401, 409, 422),
        summary="Create an organization",
        description="The caller becomes its owner. 409 `organization_slug_taken`.",
    )
    async def create(
        body: OrgCreate, request: Request, user: Any = Depends(current_user)
    ) -> OrgRead:
        org, role = await service.create(user.id, body.name, body.slug, client(request))
        return _org(org, role)

    @router.get(
        "",
        name="orgs:list_mine",
        response_model=Page[OrgRead],
        responses=error_responses(401),
        summary="List my organizations",
    )
    async def mine(
        limit: int = Query(20, ge=1, le=100),
        offset: int = Query(0, ge=0, le=MAX_ID),
        user: Any = Depends(reading_user),
    ) -> Page[OrgRead]:
        rows, total = await service.mine(user.id, limit, offset)
        return Page(items=[_org(o, r) for o, r in rows], total=total, limit=limit, offset=offset)

    @router.get(
        "/{org_id}",
        name="orgs:get",
        response_model=OrgRead,
        responses=error_responses(401, 404),
        summary="Get an organization",
        description="404 `organization_not_found` unless the caller is a member.",
    )
    async def get(org_id: Id, ctx: OrgContext = Depends(reading_org)) -> OrgRead:
        return _org(await service.get(org_id), ctx.role)

    @router.patch(
        "/{org_id}",
        name="orgs:rename",
        response_model=OrgRead,
        responses=error_responses(401, 403, 404, 422),
        summary="Rename an organization",
        description="Permission `org:update`.",
    )
    async def rename(
        org_id: Id, body: OrgUpdate, request: Request, ctx: OrgContext = Depends(current_org)
    ) -> OrgRead:
        return _org(await service.rename(ctx, body.name, client(request)), ctx.role)

    @router.delete(
        "/{org_id}",
        name="orgs:delete",
        response_model=OrgDeleted,
        responses=error_responses(401, 403, 404, 409, 502, 503),
        summary="Delete an organization",
        description="Permission `org:delete` (owners). Cancels the organization's "
        "subscription in Stripe at once, then deletes it; `subscription_canceled` says "
        "whether one was billing. 503 `billing_unavailable` when Stripe cannot be "
        "reached (nothing is deleted; call again), 502 `billing_rejected` when Stripe "
        "refuses; 409 `organization_has_subscription` with a payment gateway that "
        "cannot cancel.",
    )
    async def delete(
        org_id: Id,
        request: Request,
        _: Any = Depends(owner_user),
        ctx: OrgContext = Depends(deps.require_org_permission("org:delete", session_only=True)),
    ) -> OrgDeleted:
        canceled = await service.delete(ctx, client(request))
        return OrgDeleted(id=org_id, subscription_canceled=canceled)

    @router.post(
        "/{org_id}/transfer",
        name="orgs:transfer",
        status_code=204,
        responses=error_responses(401, 403, 404, 422),
        summary="Transfer ownership",
        description="An owner makes a member owner and becomes admin. 404 "
        "`organization_member_not_found` for a user who is not a member.",
    )
    async def transfer(
        org_id: Id, body: OwnershipTransfer, request: Request, user: Any = Depends(owner_user)
    ) -> Response:
        await service.transfer(org_id, user.id, body.user_id, client(request))
        return Response(status_code=204)

    @router.get(
        "/{org_id}/members",
        name="orgs:members",
        response_model=Page[MemberRead],
        responses=error_responses(401, 403, 404),
        summary="List members",
        description="Permission `members:read`.",
    )
    async def members(
        org_id: Id,
        limit: int = Query(20, ge=1, le=100),
        offset: int = Query(0, ge=0, le=MAX_ID),
        ctx: OrgContext = Depends(reader("members:read")),
    ) -> Page[MemberRead]:
        rows, total = await service.members(org_id, limit, offset)
        items = [
            MemberRead(
                user_id=m.user_id,
                email=u.email,
                full_name=u.full_name,
                role=m.role,
                joined_at=_utc(m.joined_at),
            )
            for m, u in rows
        ]
        return Page(items=items, total=total, limit=limit, offset=offset)

    @router.patch(
        "/{org_id}/members/{user_id}",
        name="orgs:change_role",
        status_code=204,
        responses=error_responses(401, 403, 404, 409, 422),
        summary="Change a member's role",
        description="Permission `members:manage`; nobody grants or changes a role beyond "
        "their own (only owners make owners). 409 `organization_last_owner` when the "
        "last owner would be demoted; 422 `organization_unknown_role`.",
    )
    async def change_role(
        org_id: Id,
        user_id: Id,
        body: MemberRoleUpdate,
        request: Request,
        ctx: OrgContext = Depends(current_org),
    ) -> Response:
        await service.change_role(org_id, ctx.user_id, user_id, body.role, client(request))
        return Response(status_code=204)

    @router.delete(
        "/{org_id}/members/{user_id}",
        name="orgs:remove_member",
        status_code=204,
        responses=error_responses(401, 403, 404, 409),
        summary="Remove a member",
        description="Permission `members:manage`, for a member whose role is within the "
        "caller's. Takes effect on the member's next request. 409 "
        "`organization_last_owner`.",
    )
    async def remove(
        org_id: Id, user_id: Id, request: Request, ctx: OrgContext = Depends(current_org)
    ) -> Response:
        await service.remove(org_id, ctx.user_id, user_id, client(request))
        return Response(status_code=204)

    @router.post(
        "/{org_id}/leave",
        name="orgs:leave",
        status_code=204,
        responses=error_responses(401, 404, 409),
        summary="Leave an organization",
        description="409 `organization_last_owner` for the last owner. Open to a member "
        "without 2FA in an organization that requires it.",
    )
    async def leave(
        org_id: Id, request: Request, ctx: OrgContext = Depends(deps.leaving_org)
    ) -> Response:
        await service.leave(org_id, ctx.user_id, client(request))
        return Response(status_code=204)

    @router.post(
        "/{org_id}/invitations",
        name="orgs:invite",
        response_model=InvitationRead,
        status_code=201,
        responses=error_responses(401, 402, 403, 404, 409, 422, 429),
        summary="Invite by email",
        description="Permission `members:invite`, for a role within the caller's. The "
        "email is sent in the background. Rate limited per organization and per "
        "inviter (429). 409 `organization_already_member`; 402 `organization_seat_limit` "
        "when every seat of the plan is taken.",
    )
    async def invite(
        org_id: Id,
        body: InvitationCreate,
        request: Request,
        ctx: OrgContext = Depends(current_org),
    ) -> InvitationRead:
        return _invitation(await service.invite(ctx, body.email, body.role, client(request)))

    @router.get(
        "/{org_id}/invitations",
        name="orgs:invitations",
        response_model=Page[InvitationRead],
        responses=error_responses(401, 403, 404),
        summary="List pending invitations",
        description="Permission `members:invite`.",
    )
    async def invitations(
        org_id: Id,
        limit: int = Query(20, ge=1, le=100),
        offset: int = Query(0, ge=0, le=MAX_ID),
        ctx: OrgContext = Depends(reader("members:invite")),
    ) -> Page[InvitationRead]:
        rows, total = await service.pending(org_id, limit, offset)
        return Page(items=[_invitation(i) for i in rows], total=total, limit=limit, offset=offset)

    @router.post(
        "/{org_id}/invitations/{invitation_id}/resend",
        name="orgs:resend_invitation",
        response_model=InvitationRead,
        responses=error_responses(401, 403, 404, 429),
        summary="Resend an invitation",
        description="A new link (the old one stops working) and a new expiry.",
    )
    async def resend(
        org_id: Id, invitation_id: Id, request: Request, ctx: OrgContext = Depends(current_org)
    ) -> InvitationRead:
        return _invitation(await service.resend(ctx, invitation_id, client(request)))

    @router.delete(
        "/{org_id}/invitations/{invitation_id}",
        name="orgs:revoke_invitation",
        status_code=204,
        responses=error_responses(401, 403, 404),
        summary="Revoke an invitation",
    )
    async def revoke(
        org_id: Id, invitation_id: Id, request: Request, ctx: OrgContext = Depends(current_org)
    ) -> Response:
        await service.revoke(ctx, invitation_id, client(request))
        return Response(status_code=204)

    @router.get(
        "/{org_id}/audit",
        name="orgs:audit",
        response_model=Page[AuditEventRead],
        responses=error_responses(401, 403, 404),
        summary="The organization's audit trail",
        description="Permission `audit:read`. Newest first.",
    )
    async def audit(
        org_id: Id,
        limit: int = Query(50, ge=1, le=100),
        offset: int = Query(0, ge=0, le=MAX_ID),
        ctx: OrgContext = Depends(reader("audit:read")),
    ) -> Page[AuditEventRead]:
        rows, total = await service.events(org_id, limit, offset)
        return Page(
            items=[AuditEventRead.model_validate(r) for r in rows],
            total=total,
            limit=limit,
            offset=offset,
        )

    return router

"""The organization rules, HTTP-free.

Every change of memberships runs in one transaction that first locks the organization's
row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serializes writers anyway), then
reads the caller's and the target's memberships afresh: two owners demoting each other
at once, or twenty accepts racing, are serialized per organization, so the invariants
(the organization keeps an owner; an invitation works once) are checked on current rows.

Memberships are cached in the store under the user's hash tag (``{u:<uid>}:org:<oid>``)
and the cache entry is deleted on every change, so a removed member is refused on their
next request on every instance.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, false, func, not_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.features import AuditRecorder
from saaskit.orgs.errors import (
    AlreadyMember,
    InvitationEmailMismatch,
    InvitationInvalid,
    LastOwner,
    MemberNotFound,
    OrgNotFound,
    OrgPermissionDenied,
    SeatLimitReached,
    SlugTaken,
    UnknownRole,
)
from saaskit.orgs.models import InvitationMixin, MembershipMixin, OrganizationMixin
from saaskit.orgs.schemas import OrgsSettings
from saaskit.ratelimit import RateLimiter
from saaskit.settings import RateLimit
from saaskit.store import Store
from saaskit.store.keys import user_tag
from saaskit.tasks.runner import TaskRunner
from saaskit.tasks.typed import TaskDef, enqueue
from saaskit.types import ClientInfo

__all__ = [
    "SEND_INVITATION",
    "OrgContext",
    "OrgService",
    "SendInvitation",
    "hash_token",
    "membership_key",
]


@dataclass(frozen=True, slots=True)
class SendInvitation:
    """The invitation email: where it goes, its token, and what it says."""

    to: str
    token: str
    organization: str
    role: str
    hours: int


SEND_INVITATION = TaskDef("orgs.send_invitation", SendInvitation)
"""The task that emails an invitation."""

OWNER = "owner"

ACTIONS = (
    "org_created",
    "org_renamed",
    "org_deleted",
    "org_member_invited",
    "org_invitation_resent",
    "org_invitation_revoked",
    "org_invitation_accepted",
    "org_member_role_changed",
    "org_member_removed",
    "org_member_left",
    "org_ownership_transferred",
    "org_mfa_policy_changed",
)
"""The feature's audit actions; every event's ``detail`` carries ``organization_id``."""


OrgDeleting = Callable[[AsyncSession, int], Awaitable[Callable[[], Awaitable[None]] | None]]
"""A callback of an organization's deletion (see :attr:`OrgService.deleting`)."""


def summary_key(org_id: int) -> str:
    """The store key of an organization's cached name and slug (read alone: no tag)."""
    return f"org:{org_id}:summary"


def hash_token(token: str) -> str:
    """The stored form of an invitation token (SHA-256: the token is 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def membership_suffix(org_id: int) -> str:
    """The part of a membership's key after the user's tag."""
    return f"org:{org_id}"


def membership_key(user_id: int, org_id: int) -> str:
    """The store key of a cached membership, under the user's hash tag."""
    return f"{user_tag(user_id)}:{membership_suffix(org_id)}"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _slugify(name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48] or "org"
    return f"{base}-{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class OrgContext:
    """An organization as its member sees it (what ``kit.current_org`` gives a route).

    Attributes:
        organization_id: the organization's id.
        name: its name.
        slug: its slug.
        user_id: the calling member.
        role: the caller's role (``"api_key"`` for an organization API key).
        permissions: what that role allows (an organization key: its scopes).
        credential_scopes: what the caller's credential allows, when it is limited (a
            personal API key's scopes; ``None`` for a login session).
        api_key_id: the public id of the API key the caller used, if any.
        mfa_blocked: the organization requires two-factor authentication and the member
            has it off (``kit.current_org`` then answers 403 ``org_mfa_required``).
    """

    organization_id: int
    name: str
    slug: str
    user_id: int
    role: str
    permissions: frozenset[str]
    credential_scopes: frozenset[str] | None = None
    api_key_id: str | None = None
    mfa_blocked: bool = False

    def allows(self, permission: str) -> bool:
        """Whether the caller's role has ``permission`` (and their credential grants it)."""
        scopes = self.credential_scopes
        if scopes is not None and "*" not in scopes and permission not in scopes:
            return False
        return self.role == OWNER or permission in self.permissions


class OrgService:
    """Organizations, memberships and invitations."""

    def __init__(
        self,
        *,
        organization: type[OrganizationMixin],
        membership: type[MembershipMixin],
        invitation: type[InvitationMixin],
        user_model: type[Any],
        audit_model: type[Any] | None,
        session_factory: async_sessionmaker[AsyncSession],
        store: Store,
        settings: OrgsSettings,
        audit: AuditRecorder,
        runner: TaskRunner,
        limiter: RateLimiter,
    ) -> None:
        self.organization = organization
        self.membership = membership
        self.invitation = invitation
        self.user_model = user_model
        self.audit_model = audit_model
        self.session_factory = session_factory
        self.store = store
        self.settings = settings
        self.audit = audit
        self.runner = runner
        self.limiter = limiter
        self.roles = settings.role_permissions()
        self.seat_limit: Callable[[int], Awaitable[int | None]] | None = None
        """How many seats an organization has (``None``: unlimited); set from billing (the
        plan's ``seats`` quota) when billing is on."""
        self.deleting: list[OrgDeleting] = []
        """Called in the transaction that deletes an organization (with the session and its
        id), before its row goes; each may return what to run once it is committed (the
        API keys feature drops the organization's keys and their cache entries)."""
        self.seats_changed: Callable[[int], Awaitable[None]] | None = None
        """Called with the organization's id after its seat count may have changed (the
        subscription quantity job, when ``sync_seat_quantity``)."""
        self.cancel_billing: Callable[[int], Awaitable[list[str]]] | None = None
        """Cancels the organization's subscriptions at once before it is deleted; returns
        the canceled ids (set from billing when billing is on)."""
        self.billing_deleted: Callable[[int], Awaitable[None]] | None = None
        """Called after an organization was deleted: billing forgets its customer link."""
        self.member_mfa: Callable[[Any], Any] | None = None
        """Given the membership's ``user_id`` column, a SQL boolean: the member has
        two-factor authentication on. Set by the ``mfa`` feature; it is read in the same
        query as the membership (and cached with it), so enforcing an organization's 2FA
        requirement costs no query per request. ``None``: no requirement is enforced."""

    # -- roles -------------------------------------------------------------------------

    def permissions(self, role: str) -> frozenset[str]:
        """The permissions of ``role`` (none for a role the settings no longer know)."""
        return self.roles.get(role, frozenset())

    def _check_role(self, role: str) -> None:
        if role not in self.roles:
            raise UnknownRole()

    def _may_grant(self, actor_role: str, role: str) -> bool:
        """Whether ``actor_role`` may grant ``role``.

        An owner grants any role; anyone else only roles within their own permissions and
        never ``owner`` (no escalation through a role change or an invitation).
        """
        if actor_role == OWNER:
            return True
        return role != OWNER and self.permissions(role) <= self.permissions(actor_role)

    # -- membership reads (cached) -----------------------------------------------------

    async def context(
        self, org_id: int, user_id: int, *, prefetched: tuple[bool, bytes | None] = (False, None)
    ) -> OrgContext:
        """The organization as ``user_id`` sees it.

        Args:
            org_id: the organization.
            user_id: the user.
            prefetched: ``(True, value)`` when the cached membership was already read
                (with the session, :mod:`saaskit.auth.prefetch`).

        Raises:
            OrgNotFound: no such organization, or the user is not a member.
        """
        found, raw = prefetched
        if not found and self.settings.membership_cache_seconds:
            raw = await self.store.get(membership_key(user_id, org_id))
        return self.context_from(raw, org_id, user_id) or await self.load_context(org_id, user_id)

    def context_from(self, raw: bytes | None, org_id: int, user_id: int) -> OrgContext | None:
        """A context from a cached value.

        ``None`` when it is not cached; raises for a cached non-member.
        """
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        if data.get("r") is None:
            raise OrgNotFound()
        role = str(data["r"])
        return OrgContext(
            org_id,
            str(data["n"]),
            str(data["s"]),
            user_id,
            role,
            self.permissions(role),
            mfa_blocked=bool(data.get("q")),
        )

    async def load_context(self, org_id: int, user_id: int) -> OrgContext:
        """The context read from the database (and cached)."""
        org, member = self.organization, self.membership
        blocked: Any = (
            and_(org.mfa_required, not_(self.member_mfa(member.user_id)))
            if self.member_mfa is not None
            else false()
        )
        async with self.session_factory() as db:
            row = (
                await db.execute(
                    select(org.name, org.slug, member.role, blocked)
                    .join(member, member.organization_id == org.id)
                    .where(org.id == org_id, member.user_id == user_id)
                )
            ).first()
        ttl = self.settings.membership_cache_seconds
        key = membership_key(user_id, org_id)
        if row is None:
            if ttl:
                await self.store.put(key, b'{"r":null}', ttl)
            raise OrgNotFound()
        name, slug, role, mfa_blocked = row
        if ttl:
            cached = {"r": role, "n": name, "s": slug, **({"q": 1} if mfa_blocked else {})}
            await self.store.put(key, json.dumps(cached).encode(), ttl)
        return OrgContext(
            org_id, name, slug, user_id, role, self.permissions(role), mfa_blocked=bool(mfa_blocked)
        )

    async def require(self, org_id: int, user_id: int, permission: str | None) -> OrgContext:
        """The caller's context if their role has ``permission``.

        Raises:
            OrgNotFound: not a member (404, whatever the permission).
            OrgPermissionDenied: a member without the permission (403).
        """
        ctx = await self.context(org_id, user_id)
        if permission is not None and not ctx.allows(permission):
            raise OrgPermissionDenied()
        return ctx

    async def summary(self, org_id: int) -> tuple[str, str]:
        """The organization's name and slug (cached in the store).

        Raises:
            OrgNotFound: no such organization.
        """
        ttl = self.settings.membership_cache_seconds
        raw = await self.store.get(summary_key(org_id)) if ttl else None
        if raw is not None:
            try:
                name, slug = json.loads(raw)
                return str(name), str(slug)
            except ValueError:
                pass
        org = await self.get(org_id)
        if ttl:
            await self.store.put(
                summary_key(org_id), json.dumps([org.name, org.slug]).encode(), ttl
            )
        return org.name, org.slug

    async def key_context(
        self, org_id: int, user_id: int, scopes: frozenset[str], key_id: str
    ) -> OrgContext:
        """The context of an organization API key: it acts for the organization.

        Its role is ``"api_key"`` and its permissions are the key's scopes; ``user_id`` is
        the key's creator (who may since have left).
        """
        name, slug = await self.summary(org_id)
        return OrgContext(org_id, name, slug, user_id, "api_key", scopes, None, key_id)

    async def forget(self, org_id: int, *user_ids: int) -> None:
        """Drop cached memberships (one key per user: each lives in its user's slot)."""
        for user_id in user_ids:
            await self.store.delete(membership_key(user_id, org_id))

    async def forget_user(self, user_id: int) -> None:
        """Drop every cached membership of ``user_id`` (their 2FA changed)."""
        async with self.session_factory() as db:
            org_ids = (
                await db.scalars(
                    select(self.membership.organization_id).where(
                        self.membership.user_id == user_id
                    )
                )
            ).all()
        for org_id in org_ids:
            await self.store.delete(membership_key(user_id, org_id))

    async def set_mfa_required(
        self, ctx: OrgContext, required: bool, client: ClientInfo | None = None
    ) -> None:
        """Require (or stop requiring) two-factor authentication of the members.

        Every member's cached membership is dropped, so the change holds on their next
        request on every instance. Audited as ``org_mfa_policy_changed``.
        """
        async with self.session_factory.begin() as db:
            await db.execute(
                update(self.organization)
                .where(self.organization.id == ctx.organization_id)
                .values(mfa_required=required)
            )
            members = await self._member_ids(db, ctx.organization_id)
        await self.forget(ctx.organization_id, *members)
        await self._record(
            "org_mfa_policy_changed",
            ctx.organization_id,
            ctx.user_id,
            None,
            client,
            {"required": required},
        )

    async def mfa_required(self, org_id: int) -> bool:
        """Whether the organization requires two-factor authentication of its members."""
        async with self.session_factory() as db:
            value = await db.scalar(
                select(self.organization.mfa_required).where(self.organization.id == org_id)
            )
        if value is None:
            raise OrgNotFound()
        return bool(value)

    # -- organizations -----------------------------------------------------------------

    async def create(
        self, user_id: int, name: str, slug: str | None, client: ClientInfo | None = None
    ) -> tuple[OrganizationMixin, str]:
        """A new organization with ``user_id`` as its owner.

        Raises:
            SlugTaken: another organization has ``slug``.
        """
        organization = self.organization(name=name, slug=slug or _slugify(name))  # type: ignore[call-arg]
        async with self.session_factory() as db:
            try:
                async with db.begin():
                    db.add(organization)
                    await db.flush()
                    db.add(
                        self.membership(  # type: ignore[call-arg]
                            organization_id=organization.id, user_id=user_id, role=OWNER
                        )
                    )
            except IntegrityError as error:
                raise SlugTaken() from error
        await self.forget(organization.id, user_id)
        await self._record("org_created", organization.id, user_id, None, client, {"slug": slug})
        return organization, OWNER

    async def mine(
        self, user_id: int, limit: int, offset: int
    ) -> tuple[list[tuple[OrganizationMixin, str]], int]:
        """The user's organizations (oldest membership first) and how many there are."""
        org, member = self.organization, self.membership
        async with self.session_factory() as db:
            total = await db.scalar(select(func.count()).where(member.user_id == user_id))
            rows = await db.execute(
                select(org, member.role)
                .join(member, member.organization_id == org.id)
                .where(member.user_id == user_id)
                .order_by(member.joined_at, org.id)
                .limit(limit)
                .offset(offset)
            )
            return [(row[0], row[1]) for row in rows], int(total or 0)

    async def get(self, org_id: int) -> OrganizationMixin:
        """The organization row (callers check membership first)."""
        async with self.session_factory() as db:
            found = await db.get(self.organization, org_id)
        if found is None:
            raise OrgNotFound()
        return found

    async def rename(
        self, ctx: OrgContext, name: str, client: ClientInfo | None = None
    ) -> OrganizationMixin:
        """Rename (``org:update``)."""
        if not ctx.allows("org:update"):
            raise OrgPermissionDenied()
        async with self.session_factory() as db, db.begin():
            org = await self._lock(db, ctx.organization_id)
            org.name = name
            members = await self._member_ids(db, ctx.organization_id)
        await self.forget(ctx.organization_id, *members)
        await self.store.delete(summary_key(ctx.organization_id))
        await self._record("org_renamed", ctx.organization_id, ctx.user_id, None, client, {})
        return org

    async def delete(self, ctx: OrgContext, client: ClientInfo | None = None) -> bool:
        """Delete the organization with its memberships and invitations (``org:delete``).

        Its subscription is canceled at once first (:attr:`cancel_billing`): when Stripe
        cannot be reached nothing is deleted (503), and calling again is safe.

        Returns:
            Whether a subscription was billing and is now canceled.
        """
        if not ctx.allows("org:delete"):
            raise OrgPermissionDenied()
        canceled: list[str] = []
        if self.cancel_billing is not None:
            canceled = await self.cancel_billing(ctx.organization_id)
        async with self.session_factory() as db, db.begin():
            org = await self._lock(db, ctx.organization_id)
            members = await self._member_ids(db, ctx.organization_id)
            await db.execute(
                self.membership.__table__.delete().where(  # type: ignore[attr-defined]
                    self.membership.organization_id == ctx.organization_id
                )
            )
            await db.execute(
                self.invitation.__table__.delete().where(  # type: ignore[attr-defined]
                    self.invitation.organization_id == ctx.organization_id
                )
            )
            after = [await callback(db, ctx.organization_id) for callback in self.deleting]
            await db.delete(org)
        await self.forget(ctx.organization_id, *members)
        await self.store.delete(summary_key(ctx.organization_id))
        for action in after:
            if action is not None:
                await action()
        detail: dict[str, Any] = {"subscription_canceled": bool(canceled)}
        if canceled:
            detail["subscriptions"] = canceled
        await self._record("org_deleted", ctx.organization_id, ctx.user_id, None, client, detail)
        if self.billing_deleted is not None:
            await self.billing_deleted(ctx.organization_id)
        return bool(canceled)

    # -- members -----------------------------------------------------------------------

    async def members(
        self, org_id: int, limit: int, offset: int
    ) -> tuple[list[tuple[MembershipMixin, Any]], int]:
        """The members with their users (oldest first) and how many there are."""
        member, user = self.membership, self.user_model
        async with self.session_factory() as db:
            total = await db.scalar(select(func.count()).where(member.organization_id == org_id))
            rows = await db.execute(
                select(member, user)
                .join(user, user.id == member.user_id)
                .where(member.organization_id == org_id)
                .order_by(member.joined_at, member.id)
                .limit(limit)
                .offset(offset)
            )
            return [(row[0], row[1]) for row in rows], int(total or 0)

    async def change_role(
        self,
        org_id: int,
        actor_id: int,
        target_id: int,
        role: str,
        client: ClientInfo | None = None,
    ) -> MembershipMixin:
        """Give ``target_id`` the role ``role``.

        Raises:
            UnknownRole, OrgPermissionDenied, MemberNotFound, LastOwner.
        """
        self._check_role(role)
        async with self.session_factory() as db, db.begin():
            await self._lock(db, org_id)
            actor = await self._acting(db, org_id, actor_id, "members:manage")
            target = await self._member(db, org_id, target_id)
            before = target.role
            if not (self._may_grant(actor.role, role) and self._may_grant(actor.role, before)):
                raise OrgPermissionDenied()
            if before == OWNER and role != OWNER:
                await self._keep_an_owner(db, org_id)
            target.role = role
        await self.forget(org_id, target_id)
        await self._record(
            "org_member_role_changed",
            org_id,
            actor_id,
            target_id,
            client,
            {"from": before, "to": role},
        )
        return target

    async def remove(
        self, org_id: int, actor_id: int, target_id: int, client: ClientInfo | None = None
    ) -> None:
        """Remove ``target_id`` (``members:manage``; not someone of a higher role)."""
        async with self.session_factory() as db, db.begin():
            await self._lock(db, org_id)
            if target_id == actor_id:
                actor = await self._member(db, org_id, actor_id)
            else:
                actor = await self._acting(db, org_id, actor_id, "members:manage")
            target = actor if target_id == actor_id else await self._member(db, org_id, target_id)
            if target_id != actor_id and not self._may_grant(actor.role, target.role):
                raise OrgPermissionDenied()
            if target.role == OWNER:
                await self._keep_an_owner(db, org_id)
            await db.delete(target)
        await self.forget(org_id, target_id)
        await self._changed(org_id)
        action = "org_member_left" if target_id == actor_id else "org_member_removed"
        await self._record(action, org_id, actor_id, target_id, client, {"role": target.role})

    async def leave(self, org_id: int, user_id: int, client: ClientInfo | None = None) -> None:
        """``user_id`` leaves (never the last owner)."""
        await self.remove(org_id, user_id, user_id, client)

    async def transfer(
        self, org_id: int, actor_id: int, target_id: int, client: ClientInfo | None = None
    ) -> None:
        """Make ``target_id`` an owner and the caller (an owner) an admin."""
        async with self.session_factory() as db, db.begin():
            await self._lock(db, org_id)
            actor = await self._acting(db, org_id, actor_id, "org:transfer")
            if actor.role != OWNER:
                raise OrgPermissionDenied()
            target = await self._member(db, org_id, target_id)
            if target_id == actor_id:
                return
            target.role = OWNER
            actor.role = "admin"
        await self.forget(org_id, actor_id, target_id)
        await self._record("org_ownership_transferred", org_id, actor_id, target_id, client, {})

    # -- invitations -------------------------------------------------------------------

    async def invite(
        self, ctx: OrgContext, email: str, role: str, client: ClientInfo | None = None
    ) -> InvitationMixin:
        """Invite ``email`` as ``role`` and queue the email (``members:invite``).

        A pending invitation of the same address is replaced (its link stops working).

        Raises:
            UnknownRole, OrgPermissionDenied, AlreadyMember, RateLimited.
        """
        self._check_role(role)
        if not ctx.allows("members:invite") or not self._may_grant(ctx.role, role):
            raise OrgPermissionDenied()
        await self._rate_limit(ctx)
        limit = await self._seats(ctx.organization_id)
        token = secrets.token_urlsafe(32)
        now = _now()
        inv, member, user = self.invitation, self.membership, self.user_model
        async with self.session_factory() as db, db.begin():
            await self._lock(db, ctx.organization_id)
            taken = await db.scalar(
                select(func.count())
                .select_from(member)
                .join(user, user.id == member.user_id)
                .where(
                    member.organization_id == ctx.organization_id,
                    func.lower(user.email) == email.lower(),
                )
            )
            if taken:
                raise AlreadyMember()
            await self._check_seats(
                db, ctx.organization_id, limit, pending=self.settings.seats_include_pending
            )
            await db.execute(
                update(inv)
                .where(
                    inv.organization_id == ctx.organization_id,
                    func.lower(inv.email) == email.lower(),
                    inv.accepted_at.is_(None),
                    inv.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
            invitation = inv(  # type: ignore[call-arg]
                organization_id=ctx.organization_id,
                email=email,
                role=role,
                invited_by=ctx.user_id,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + timedelta(hours=self.settings.invitation_ttl_hours),
            )
            db.add(invitation)
        await self._send(ctx, invitation, token)
        if self.settings.seats_include_pending:
            await self._changed(ctx.organization_id)
        await self._record(
            "org_member_invited",
            ctx.organization_id,
            ctx.user_id,
            None,
            client,
            {"invitation_id": invitation.id, "role": role},
        )
        return invitation

    async def pending(
        self, org_id: int, limit: int, offset: int
    ) -> tuple[list[InvitationMixin], int]:
        """The pending (neither accepted, revoked nor expired) invitations."""
        inv = self.invitation
        where = (
            inv.organization_id == org_id,
            inv.accepted_at.is_(None),
            inv.revoked_at.is_(None),
            inv.expires_at > _now(),
        )
        async with self.session_factory() as db:
            total = await db.scalar(select(func.count()).select_from(inv).where(*where))
            rows = await db.scalars(
                select(inv).where(*where).order_by(inv.id).limit(limit).offset(offset)
            )
            return list(rows), int(total or 0)

    async def resend(
        self, ctx: OrgContext, invitation_id: int, client: ClientInfo | None = None
    ) -> InvitationMixin:
        """A new token (the old link stops working) and expiry, emailed again."""
        if not ctx.allows("members:invite"):
            raise OrgPermissionDenied()
        await self._rate_limit(ctx)
        token = secrets.token_urlsafe(32)
        now = _now()
        async with self.session_factory() as db, db.begin():
            invitation = await self._pending_invitation(db, ctx.organization_id, invitation_id)
            if not self._may_grant(ctx.role, invitation.role):
                raise OrgPermissionDenied()
            invitation.token_hash = hash_token(token)
            invitation.expires_at = now + timedelta(hours=self.settings.invitation_ttl_hours)
        await self._send(ctx, invitation, token)
        await self._record(
            "org_invitation_resent",
            ctx.organization_id,
            ctx.user_id,
            None,
            client,
            {"invitation_id": invitation_id},
        )
        return invitation

    async def revoke(
        self, ctx: OrgContext, invitation_id: int, client: ClientInfo | None = None
    ) -> None:
        """Revoke a pending invitation (``members:invite``)."""
        if not ctx.allows("members:invite"):
            raise OrgPermissionDenied()
        async with self.session_factory() as db, db.begin():
            invitation = await self._pending_invitation(db, ctx.organization_id, invitation_id)
            invitation.revoked_at = _now()
        if self.settings.seats_include_pending:
            await self._changed(ctx.organization_id)
        await self._record(
            "org_invitation_revoked",
            ctx.organization_id,
            ctx.user_id,
            None,
            client,
            {"invitation_id": invitation_id},
        )

    async def invited_email(self, token: str) -> str:
        """The address a pending, unexpired invitation was sent to (found by its token).

        Raises:
            InvitationInvalid: unknown, expired, used or revoked.
        """
        inv = self.invitation
        async with self.session_factory() as db:
            invitation = await db.scalar(select(inv).where(inv.token_hash == hash_token(token)))
        if (
            invitation is None
            or invitation.accepted_at is not None
            or invitation.revoked_at is not None
            or _aware(invitation.expires_at) <= _now()
        ):
            raise InvitationInvalid()
        return invitation.email

    async def accept(
        self, token: str, user: Any, client: ClientInfo | None = None
    ) -> tuple[OrganizationMixin, str]:
        """``user`` joins through the invitation whose token is ``token``.

        The token is looked up by its hash only; it works once, before its expiry, for a
        signed-in user whose *verified* email is the invited one (case-insensitively).

        Raises:
            InvitationInvalid: unknown, expired, used or revoked (one answer for all).
            InvitationEmailMismatch: the user's verified email is not the invited one.
            AlreadyMember: the user is already a member.
        """
        inv = self.invitation
        async with self.session_factory() as db:
            org_id = await db.scalar(
                select(inv.organization_id).where(inv.token_hash == hash_token(token))
            )
        if org_id is None:
            raise InvitationInvalid()
        limit = await self._seats(org_id)
        async with self.session_factory() as db, db.begin():
            org = await self._lock(db, org_id)  # serializes accepts (seats) per organization
            invitation = await db.scalar(
                select(inv).where(inv.token_hash == hash_token(token)).with_for_update()
            )
            if (
                invitation is None
                or invitation.accepted_at is not None
                or invitation.revoked_at is not None
                or _aware(invitation.expires_at) <= _now()
            ):
                raise InvitationInvalid()
            email = str(getattr(user, "email", "") or "")
            if not getattr(user, "is_verified", False) or email.casefold() != (
                invitation.email.casefold()
            ):
                raise InvitationEmailMismatch()
            existing = await self._find_member(db, org_id, user.id)
            if existing is not None:
                raise AlreadyMember()
            await self._check_seats(db, org_id, limit, pending=False)
            db.add(
                self.membership(  # type: ignore[call-arg]
                    organization_id=org_id, user_id=user.id, role=invitation.role
                )
            )
            invitation.accepted_at = _now()
            role = invitation.role
        await self.forget(org_id, user.id)
        await self._changed(org_id)
        await self._record(
            "org_invitation_accepted",
            org_id,
            user.id,
            user.id,
            client,
            {"invitation_id": invitation.id, "role": role},
        )
        return org, role

    # -- audit -------------------------------------------------------------------------

    async def events(self, org_id: int, limit: int, offset: int) -> tuple[list[Any], int]:
        """The organization's audit events, newest first."""
        model = self.audit_model
        if model is None:
            return [], 0
        where = model.detail["organization_id"].as_integer() == org_id
        async with self.session_factory() as db:
            total = await db.scalar(select(func.count()).select_from(model).where(where))
            rows = await db.scalars(
                select(model).where(where).order_by(model.id.desc()).limit(limit).offset(offset)
            )
            return list(rows), int(total or 0)

    # -- internals ---------------------------------------------------------------------

    async def _lock(self, db: AsyncSession, org_id: int) -> OrganizationMixin:
        org = await db.scalar(
            select(self.organization).where(self.organization.id == org_id).with_for_update()
        )
        if org is None:
            raise OrgNotFound()
        return org

    async def _member_ids(self, db: AsyncSession, org_id: int) -> list[int]:
        member = self.membership
        return list(
            await db.scalars(select(member.user_id).where(member.organization_id == org_id))
        )

    async def _find_member(
        self, db: AsyncSession, org_id: int, user_id: int
    ) -> MembershipMixin | None:
        member = self.membership
        found: MembershipMixin | None = await db.scalar(
            select(member).where(member.organization_id == org_id, member.user_id == user_id)
        )
        return found

    async def _member(self, db: AsyncSession, org_id: int, user_id: int) -> MembershipMixin:
        found = await self._find_member(db, org_id, user_id)
        if found is None:
            raise MemberNotFound()
        return found

    async def _acting(
        self, db: AsyncSession, org_id: int, user_id: int, permission: str
    ) -> MembershipMixin:
        """The caller's membership, read in the locked transaction (not the cache)."""
        actor = await self._find_member(db, org_id, user_id)
        if actor is None:
            raise OrgNotFound()
        if actor.role != OWNER and permission not in self.permissions(actor.role):
            raise OrgPermissionDenied()
        return actor

    async def _keep_an_owner(self, db: AsyncSession, org_id: int) -> None:
        member = self.membership
        owners = await db.scalar(
            select(func.count()).where(member.organization_id == org_id, member.role == OWNER)
        )
        if (owners or 0) <= 1:
            raise LastOwner()

    async def _pending_invitation(
        self, db: AsyncSession, org_id: int, invitation_id: int
    ) -> InvitationMixin:
        inv = self.invitation
        found: InvitationMixin | None = await db.scalar(
            select(inv)
            .where(
                inv.id == invitation_id,
                inv.organization_id == org_id,
                inv.accepted_at.is_(None),
                inv.revoked_at.is_(None),
            )
            .with_for_update()
        )
        if found is None:
            raise InvitationInvalid()
        return found

    async def seat_count(self, org_id: int) -> int:
        """Seats taken: members, plus pending invitations with ``seats_include_pending``."""
        async with self.session_factory() as db:
            return await self._seats_used(db, org_id, pending=self.settings.seats_include_pending)

    async def _seats_used(self, db: AsyncSession, org_id: int, *, pending: bool) -> int:
        """Members of ``org_id``, plus its live pending invitations when ``pending``."""
        member, inv = self.membership, self.invitation
        used = await db.scalar(select(func.count()).where(member.organization_id == org_id)) or 0
        if pending:
            used += (
                await db.scalar(
                    select(func.count())
                    .select_from(inv)
                    .where(
                        inv.organization_id == org_id,
                        inv.accepted_at.is_(None),
                        inv.revoked_at.is_(None),
                        inv.expires_at > _now(),
                    )
                )
                or 0
            )
        return int(used)

    async def _changed(self, org_id: int) -> None:
        if self.seats_changed is not None:
            await self.seats_changed(org_id)

    async def _seats(self, org_id: int) -> int | None:
        return await self.seat_limit(org_id) if self.seat_limit is not None else None

    async def _check_seats(
        self, db: AsyncSession, org_id: int, limit: int | None, *, pending: bool
    ) -> None:
        """Raise :class:`SeatLimitReached` when one more seat would exceed ``limit``.

        Counted in the transaction that holds the organization's lock.
        """
        if limit is None:
            return
        if await self._seats_used(db, org_id, pending=pending) + 1 > limit:
            raise SeatLimitReached()

    async def _rate_limit(self, ctx: OrgContext) -> None:
        # The kit's limiter (it follows SAASKIT_RATE_LIMIT__ENABLED), with this feature's limits.
        message = "Too many invitations; try again later."
        for name, subject, per_hour in (
            ("orgs_invite_org", ctx.organization_id, self.settings.invitations_per_org_per_hour),
            ("orgs_invite_user", ctx.user_id, self.settings.invitations_per_inviter_per_hour),
        ):
            limit = RateLimit(limit=per_hour, window_seconds=3600)
            await self.limiter.hit_limit(name, limit, str(subject), message)

    async def _send(self, ctx: OrgContext, invitation: InvitationMixin, token: str) -> None:
        await enqueue(
            self.runner,
            SEND_INVITATION,
            SendInvitation(
                to=invitation.email,
                token=token,
                organization=ctx.name,
                role=invitation.role,
                hours=self.settings.invitation_ttl_hours,
            ),
        )

    async def _record(
        self,
        action: str,
        org_id: int,
        actor_id: int | None,
        target_id: int | None,
        client: ClientInfo | None,
        detail: dict[str, Any],
    ) -> None:
        await self.audit.record(
            action,
            actor_id=actor_id,
            target_id=target_id,
            client=client,
            detail={"organization_id": org_id, **detail},
        )

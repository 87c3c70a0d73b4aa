"""Organizations at account creation and deletion, in the user's own transaction.

- A **personal organization** (``SAASKIT_ORGS__PERSONAL_ORG=true``): created in the same
  transaction as the user (:attr:`saaskit.users.service.UserService.creation_steps`), so
  a failure leaves no user rather than a user without it.
- **The last owner deletes their account**: refused (409
  :class:`~saaskit.orgs.errors.OrgsBlockAccountDeletion`, naming the organizations) while
  an organization they are the last owner of has other members or a live subscription;
  an organization they are alone in is deleted with the account, in the same
  transaction (:attr:`~saaskit.users.service.UserService.deletion_steps`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Table, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from saaskit.orgs.errors import OrgsBlockAccountDeletion
from saaskit.orgs.service import OWNER, OrgService
from saaskit.users.service import AfterCommit

__all__ = ["LastOwnerRule", "PersonalOrg", "personal_name", "personal_slug"]

SLUG_TRIES = 5
"""Slugs tried before giving up (each has 32 random bits: a clash is already rare)."""


def personal_name(user: Any) -> str:
    """A personal organization's name: the user's name, else their email's local part."""
    full_name = (getattr(user, "full_name", None) or "").strip()
    name = full_name or str(user.email).split("@", 1)[0]
    return name[:100] or "Personal"


def personal_slug(name: str) -> str:
    """A slug from ``name`` with a random suffix (``alice-3f2a1c9d``)."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48] or "org"
    return f"{base}-{secrets.token_hex(4)}"


class PersonalOrg:
    """The creation step: the new user's own organization, owned by them."""

    def __init__(self, service: OrgService) -> None:
        self.service = service
        self.slug: Callable[[str], str] = personal_slug
        """Makes a candidate slug (replaceable in tests)."""

    async def __call__(self, db: AsyncSession, user: Any, /) -> AfterCommit | None:
        """Add the organization and the owner's membership to the user's transaction.

        Raises:
            RuntimeError: no free slug in :data:`SLUG_TRIES` tries (the user is not
                created either).
        """
        service = self.service
        org = service.organization
        name = personal_name(user)
        for _ in range(SLUG_TRIES):
            slug = self.slug(name)
            if await db.scalar(select(org.id).where(org.slug == slug)) is None:
                break
        else:
            raise RuntimeError("no free slug for a personal organization")
        created = org(name=name, slug=slug)  # type: ignore[call-arg]
        db.add(created)
        await db.flush()
        db.add(
            service.membership(  # type: ignore[call-arg]
                organization_id=created.id, user_id=user.id, role=OWNER
            )
        )
        org_id, user_id = int(created.id), int(user.id)

        async def after() -> None:
            await service.forget(org_id, user_id)  # a stale "not a member" entry
            await service.audit.record(
                "org_created",
                actor_id=user_id,
                detail={"organization_id": org_id, "slug": slug, "personal": True},
            )

        return after


class LastOwnerRule:
    """The deletion step: an account never leaves an organization without an owner.

    Args:
        service: the organizations service.
        subscribed: ``async (org_id) -> bool``: whether the organization has a live
            subscription (``None`` without billing).
    """

    def __init__(
        self, service: OrgService, subscribed: Callable[[int], Awaitable[bool]] | None
    ) -> None:
        self.service = service
        self.subscribed = subscribed

    async def __call__(self, db: AsyncSession, user: Any, /) -> AfterCommit | None:
        """Refuse, or delete the organizations the user is alone in; seats follow.

        Raises:
            OrgsBlockAccountDeletion: the user is the last owner of organizations with
                other members or a live subscription.
        """
        service = self.service
        member, org = service.membership, service.organization
        user_id = int(user.id)
        roles: dict[int, str] = {
            row[0]: row[1]
            for row in await db.execute(
                select(member.organization_id, member.role).where(member.user_id == user_id)
            )
        }
        joined = list(roles)
        owned = [org_id for org_id, role in roles.items() if role == OWNER]
        if not joined:
            return None
        alone: list[int] = []
        if owned:
            # Lock them (in id order) so no accept or role change slips in meanwhile.
            names: dict[int, str] = {
                row[0]: row[1]
                for row in await db.execute(
                    select(org.id, org.name)
                    .where(org.id.in_(owned))
                    .order_by(org.id)
                    .with_for_update()
                )
            }
            others = {
                row[0]: (int(row[1]), int(row[2] or 0))
                for row in await db.execute(
                    select(
                        member.organization_id,
                        func.count(),
                        func.sum(case((member.role == OWNER, 1), else_=0)),
                    )
                    .where(member.organization_id.in_(owned), member.user_id != user_id)
                    .group_by(member.organization_id)
                )
            }
            blocking: list[tuple[int, str]] = []
            for org_id in sorted(names):
                members, owners = others.get(org_id, (0, 0))
                if owners:
                    continue  # another owner keeps it
                if members or (self.subscribed is not None and await self.subscribed(org_id)):
                    blocking.append((org_id, names[org_id]))
                else:
                    alone.append(org_id)
            if blocking:
                raise OrgsBlockAccountDeletion(blocking)
            for org_id in alone:
                for model in (service.invitation, service.membership, org):
                    table: Table = model.__table__  # type: ignore[union-attr]
                    column = table.c.id if model is org else table.c.organization_id
                    await db.execute(table.delete().where(column == org_id))
        left = [org_id for org_id in joined if org_id not in alone]

        async def after() -> None:
            for org_id in alone:
                await service.forget(org_id, user_id)
                await service.audit.record(
                    "org_deleted",
                    actor_id=user_id,
                    detail={"organization_id": org_id, "reason": "owner_account_deleted"},
                )
            for org_id in left:  # the membership went with the account: one seat less
                await service.forget(org_id, user_id)
                if service.seats_changed is not None:
                    await service.seats_changed(org_id)

        return after

"""Races an organization must survive: owners demoting each other, and many people
accepting invitations for the last seat. On PostgreSQL (row locks); SQLite serializes
writers anyway and its single file is not a place to race."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select, update

from saaskit import SaaSKit
from saaskit.exceptions import SaaSKitError
from saaskit.orgs.errors import SeatLimitReached
from saaskit.orgs.service import OrgContext
from tests.databases import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="races run on PostgreSQL")


async def make_user(kit: SaaSKit[Any], email: str) -> Any:
    return await kit.users.create(email, "correct horse battery staple 42", is_verified=True)


async def owners(kit: SaaSKit[Any], org_id: int) -> int:
    member = kit.orgs.membership
    async with kit.session_factory() as db:
        count = await db.scalar(
            select(func.count()).where(member.organization_id == org_id, member.role == "owner")
        )
    return int(count or 0)


async def org_with_owners(kit: SaaSKit[Any], count: int) -> tuple[int, list[int]]:
    users = [await make_user(kit, f"owner{i}@example.com") for i in range(count)]
    org, _ = await kit.orgs.create(users[0].id, "Acme", None)
    member = kit.orgs.membership
    async with kit.session_factory() as db, db.begin():
        for user in users[1:]:
            db.add(member(organization_id=org.id, user_id=user.id, role="owner"))  # type: ignore[call-arg]
    return org.id, [u.id for u in users]


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(kit: SaaSKit[Any]) -> None:
    org, (a, b) = await org_with_owners(kit, 2)
    for _ in range(5):
        results = await asyncio.gather(
            kit.orgs.change_role(org, a, b, "admin"),
            kit.orgs.change_role(org, b, a, "admin"),
            return_exceptions=True,
        )
        assert sum(not isinstance(r, BaseException) for r in results) == 1
        assert all(isinstance(r, SaaSKitError) for r in results if isinstance(r, BaseException))
        assert await owners(kit, org) == 1
        member = kit.orgs.membership
        async with kit.session_factory() as db, db.begin():  # both owners again
            await db.execute(
                update(member).where(member.organization_id == org).values(role="owner")
            )


async def test_concurrent_demotions_and_removals_never_leave_no_owner(kit: SaaSKit[Any]) -> None:
    org, ids = await org_with_owners(kit, 5)
    calls = [
        kit.orgs.change_role(org, actor, target, "member")
        if (actor + target) % 2
        else kit.orgs.remove(org, actor, target)
        for actor in ids
        for target in ids
    ]
    await asyncio.gather(*calls, return_exceptions=True)
    assert await owners(kit, org) >= 1


async def test_twenty_accepts_for_one_free_seat_admit_exactly_one(kit: SaaSKit[Any]) -> None:
    owner = await make_user(kit, "owner@example.com")
    org, _ = await kit.orgs.create(owner.id, "Acme", None)
    ctx = OrgContext(org.id, "Acme", org.slug, owner.id, "owner", kit.orgs.permissions("owner"))
    kit.orgs.settings.invitations_per_inviter_per_hour = 100
    tokens: dict[str, str] = {}
    original = kit.orgs._send

    async def keep(ctx: OrgContext, invitation: Any, token: str) -> None:
        tokens[invitation.email] = token

    kit.orgs._send = keep  # type: ignore[method-assign]
    try:
        users = []
        for i in range(20):
            users.append(await make_user(kit, f"u{i}@example.com"))
            await kit.orgs.invite(ctx, f"u{i}@example.com", "member")
    finally:
        kit.orgs._send = original  # type: ignore[method-assign]

    async def two_seats(org_id: int) -> int:
        return 2  # the owner and one more

    kit.orgs.seat_limit = two_seats
    results = await asyncio.gather(
        *(kit.orgs.accept(tokens[u.email], u) for u in users), return_exceptions=True
    )
    admitted = [r for r in results if not isinstance(r, BaseException)]
    assert len(admitted) == 1
    assert all(isinstance(r, SeatLimitReached) for r in results if isinstance(r, BaseException))
    member = kit.orgs.membership
    async with kit.session_factory() as db:
        count = await db.scalar(select(func.count()).where(member.organization_id == org.id))
    assert count == 2

"""AI usage per billing owner: a user and an organization with the same id have separate
quotas, counters and rows; quotas resolve per kind of owner."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saaskit import SaaSKit
from saaskit.ai.metering import counter_key
from saaskit.ai.quotas import DefaultQuota, QuotasByKind, owner_tokens
from saaskit.exceptions import AIQuotaExceeded
from saaskit.models import AIUsage, User
from saaskit.owners import Owner
from tests.ai.helpers import ask, new_user

ORG = Owner("organization", 1)


async def test_a_user_and_an_organization_with_the_same_id_are_metered_apart(
    ai_kit: SaaSKit[User],
) -> None:
    uid = await new_user(ai_kit)
    assert uid == ORG.id
    meter = ai_kit.ai.meter
    await meter.record(uid, "gpt-4o-mini", 100, 10)
    await meter.record(ORG, "gpt-4o-mini", 7, 3)
    await meter.record(ORG, "gpt-4o-mini", 7, 3)

    assert (await meter.usage(uid)).total_tokens == 110
    assert (await meter.usage(ORG)).total_tokens == 20
    assert (await meter.usage(ORG)).requests == 2
    assert await meter.counted(Owner.user(uid)) == 110
    assert await meter.counted(ORG) == 20
    assert counter_key(uid, "2026-12") == f"ai:tokens:{uid}:2026-12"  # unchanged for users
    assert counter_key(ORG, "2026-12") == "ai:tokens:organization:1:2026-12"
    async with ai_kit.session_factory() as db:
        rows = (await db.execute(select(AIUsage).order_by(AIUsage.id))).scalars().all()
        kinds = [(r.owner_kind, r.owner_id, r.user_id, r.total_tokens) for r in rows]
    assert kinds == [("user", uid, uid, 110), ("organization", 1, None, 20)]


async def test_an_organization_quota_is_its_own(ai_kit: SaaSKit[User]) -> None:
    uid = await new_user(ai_kit)
    ai_kit.ai.quotas = QuotasByKind({"user": DefaultQuota(None), "organization": DefaultQuota(30)})
    await ai_kit.ai.record_usage(uid, "gpt-4o-mini", 1000, 0)  # the user is unlimited
    with pytest.raises(AIQuotaExceeded):
        await ai_kit.ai.chat(ORG, ask("Hi"))  # the organization's worst case exceeds 30
    reply = await ai_kit.ai.chat(uid, ask("Hi"))
    assert reply.usage.total_tokens > 0
    assert (await ai_kit.ai.usage(ORG)).quota == 30
    assert (await ai_kit.ai.usage(uid)).quota is None


async def test_kinds_without_a_resolver_get_no_ai_by_default() -> None:
    quotas = QuotasByKind({"user": DefaultQuota(100)})
    assert await quotas.owner_tokens(Owner.user(5)) == 100
    assert await quotas.monthly_tokens(5) == 100
    assert await quotas.owner_tokens(ORG) == 0


async def test_a_per_user_resolver_serves_users_and_refuses_other_owners() -> None:
    class PerUser:
        async def monthly_tokens(self, user_id: int) -> int | None:
            return user_id * 10

    assert await owner_tokens(PerUser(), Owner.user(3)) == 30
    with pytest.raises(TypeError, match="OwnerQuotaResolver"):
        await owner_tokens(PerUser(), ORG)

"""Pooled organization quotas (``ai.pooled_org_quota``): a member's call in an
organization's context draws on the organization's quota (its subscribed plan's
``ai_tokens``) and is recorded per organization and per member; any other call draws on
the user's own quota. Admins read the usage per member at ``GET /ai/orgs/{id}/usage``.

Runs on both legs: SQLite + in-process store, and PostgreSQL + Redis when
``SAASKIT_TEST_DATABASE_URL`` / ``SAASKIT_TEST_REDIS_URL`` are set.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from saaskit import SaaSKit
from saaskit.ai.estimate import estimate_prompt_tokens
from saaskit.ai.metering import counter_key
from saaskit.ai.pool import InOrganization, bill_to
from saaskit.ai.quotas import PlanQuota
from saaskit.email.memory import MemorySender
from saaskit.exceptions import AIQuotaExceeded
from saaskit.models import AIUsage
from saaskit.orgs.service import OrgContext
from saaskit.owners import Owner
from saaskit.testing import FakeOpenAI
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from tests.ai.helpers import ask
from tests.helpers import answer, build_app, make_settings, new_store
from tests.orgs.helpers import ORGS, join, new_org, user_id, verified

CHAT = "/api/v1/ai/chat"
USAGE = "/api/v1/ai/usage"
MAX_TOKENS = 10
USER_TOKENS = 40  # the free (default) plan: every user's own quota
TEAM_TOKENS = 100  # the team plan: the organization's pool
HI = ask("Hi")
RESERVATION = estimate_prompt_tokens(HI) + MAX_TOKENS  # 25: four fit in the pool
CHARGED = 8  # the fake counts "Hi" as 1 prompt token, the seven-word reply as 7
PLANS = {
    "free": {"quotas": {"ai_tokens": USER_TOKENS}},
    "team": {"price": "team_monthly", "quotas": {"ai_tokens": TEAM_TOKENS}},
}


@dataclass
class Pool:
    """A kit with pooled quotas, billing on the fake Stripe, and a client of its app."""

    kit: SaaSKit[Any]
    client: httpx.AsyncClient
    stripe: FakeStripe

    async def subscribe(self, admin: dict[str, str], org: int) -> None:
        """Check the organization out on the team plan and deliver the webhooks."""
        created = await self.client.post(
            "/api/v1/billing/create-checkout-session",
            params={"owner": f"organization:{org}"},
            json={"plan": "team"},
            headers=admin,
        )
        assert created.status_code == 200, created.text
        self.stripe.complete_checkout(created.json()["id"])
        for delivered in await self.stripe.deliver(self.client):
            assert delivered.status_code == 200, delivered.text

    async def chat(self, headers: dict[str, str], org: int | str | None = None) -> httpx.Response:
        extra = {} if org is None else {"X-Organization": str(org)}
        return await self.client.post(CHAT, json={"messages": HI}, headers={**headers, **extra})

    async def usage(self, headers: dict[str, str], org: int | None = None) -> dict[str, Any]:
        extra = {} if org is None else {"X-Organization": str(org)}
        response = await self.client.get(USAGE, headers={**headers, **extra})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def pool_for(
    database_url: str, stripe: FakeStripe, openai: FakeOpenAI, *, pooled: bool = True
) -> SaaSKit[Any]:
    stripe.add_price("team_monthly", unit_amount=5000, product="Team")
    settings = make_settings(
        database_url,
        billing=stripe.billing_settings(plans=PLANS, default_plan="free"),
        ai=openai.ai_settings(max_tokens=MAX_TOKENS, pooled_org_quota=pooled),
    )
    return SaaSKit(settings, store=new_store(), email_sender=MemorySender())


@pytest.fixture
async def pool(
    database_url: str,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
    fake_openai: FakeOpenAI,
) -> AsyncIterator[Pool]:
    kit = await pool_for(database_url, fake_stripe, fake_openai)
    transport = httpx.ASGITransport(app=build_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Pool(kit, client, fake_stripe)
    await kit.aclose()


async def test_a_call_in_an_organization_draws_on_its_pool_and_is_recorded_per_member(
    pool: Pool,
) -> None:
    kit, client = pool.kit, pool.client
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    bob = await join(kit, client, org, alice, "bob@example.com")
    alice_id, bob_id = (
        await user_id(kit, "alice@example.com"),
        await user_id(kit, "bob@example.com"),
    )
    await pool.subscribe(alice, org)

    assert (await pool.usage(bob, org))["quota"] == TEAM_TOKENS
    assert (await pool.usage(bob))["quota"] == USER_TOKENS  # his own, without the header
    for headers in (bob, bob, alice):
        answered = await pool.chat(headers, org)
        assert answered.status_code == 200, answered.text
    own = await pool.chat(bob)  # no organization named: Bob's own quota
    assert own.status_code == 200

    pooled = await pool.usage(alice, org)
    assert (pooled["used_tokens"], pooled["requests"]) == (3 * CHARGED, 3)
    assert pooled["remaining_tokens"] == TEAM_TOKENS - 3 * CHARGED
    assert (await pool.usage(bob))["used_tokens"] == CHARGED  # only the call without it
    assert (await pool.usage(alice))["used_tokens"] == 0

    report = await client.get(f"/api/v1/ai/orgs/{org}/usage", headers=alice)
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["organization_id"], body["quota"], body["used_tokens"]) == (
        org,
        TEAM_TOKENS,
        3 * CHARGED,
    )
    shares = [(m["user_id"], m["total_tokens"], m["requests"]) for m in body["members"]]
    assert shares == [(bob_id, 2 * CHARGED, 2), (alice_id, CHARGED, 1)]
    assert body["members"][0]["models"][0]["model"] == "gpt-4o-mini"
    assert body["unattributed_tokens"] == 0
    assert await kit.ai.meter.counted(Owner("organization", org)) == 3 * CHARGED
    assert await kit.ai.meter.counted(bob_id) == CHARGED


async def test_only_members_with_ai_read_see_the_usage_per_member(pool: Pool) -> None:
    kit, client = pool.kit, pool.client
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    bob = await join(kit, client, org, alice, "bob@example.com")
    dan = await join(kit, client, org, alice, "dan@example.com", role="admin")
    carol = await verified(kit, client, "carol@example.com")

    assert (await client.get(f"/api/v1/ai/orgs/{org}/usage", headers=dan)).status_code == 200
    forbidden = await client.get(f"/api/v1/ai/orgs/{org}/usage", headers=bob)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "organization_permission_denied"
    stranger = await client.get(f"/api/v1/ai/orgs/{org}/usage", headers=carol)
    missing = await client.get("/api/v1/ai/orgs/999999/usage", headers=alice)
    assert stranger.status_code == missing.status_code == 404
    assert answer(stranger) == answer(missing)  # no oracle for which organizations exist
    assert (await client.get(f"/api/v1/ai/orgs/{org}/usage")).status_code == 401
    for bad_id in ("abc", "0", "-1", "99999999999", "1e3"):
        odd = await client.get(f"/api/v1/ai/orgs/{bad_id}/usage", headers=alice)
        assert odd.status_code in (404, 422), bad_id  # never a 500
    for bad in ("2026-13", "26-01", "2026-1", "x" * 7):
        refused = await client.get(
            f"/api/v1/ai/orgs/{org}/usage", params={"month": bad}, headers=alice
        )
        assert refused.status_code == 422, bad
    past = await client.get(
        f"/api/v1/ai/orgs/{org}/usage", params={"month": "2020-01"}, headers=alice
    )
    assert (past.json()["month"], past.json()["members"]) == ("2020-01", [])


async def test_naming_an_organization_one_is_not_a_member_of_is_404_and_costs_nothing(
    pool: Pool, fake_openai: FakeOpenAI
) -> None:
    kit, client = pool.kit, pool.client
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    await pool.subscribe(alice, org)
    carol = await verified(kit, client, "carol@example.com")

    stranger = await pool.chat(carol, org)
    missing = await pool.chat(carol, 999_999)
    assert stranger.status_code == missing.status_code == 404
    assert answer(stranger) == answer(missing)
    assert stranger.json()["error"]["code"] == "organization_not_found"
    for bad in ("abc", "-1", "1.0", "99999999999", " ", "0x1"):
        assert (await pool.chat(carol, bad)).status_code == 404, bad
    peek = await client.get(USAGE, headers={**carol, "X-Organization": str(org)})
    assert peek.status_code == 404
    assert fake_openai.chat_requests == []
    assert await kit.ai.meter.counted(Owner("organization", org)) == 0


async def test_an_organization_without_a_subscription_has_no_pool(
    pool: Pool, fake_openai: FakeOpenAI
) -> None:
    # The default plan's ai_tokens are every user's own: were they an organization's
    # too, each organization a user creates would add a free quota.
    kit, client = pool.kit, pool.client
    alice = await verified(kit, client, "alice@example.com")
    orgs = [await new_org(client, alice, f"Acme {n}") for n in range(3)]

    for org in orgs:
        refused = await pool.chat(alice, org)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "ai_quota_exceeded"
        assert (await pool.usage(alice, org))["quota"] == 0
    assert fake_openai.chat_requests == []
    assert (await pool.chat(alice)).status_code == 200  # her own quota is untouched


async def test_a_removed_member_keeps_their_usage_and_loses_the_pool(pool: Pool) -> None:
    kit, client = pool.kit, pool.client
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    bob = await join(kit, client, org, alice, "bob@example.com")
    bob_id = await user_id(kit, "bob@example.com")
    await pool.subscribe(alice, org)
    assert (await pool.chat(bob, org)).status_code == 200

    removed = await client.delete(f"{ORGS}/{org}/members/{bob_id}", headers=alice)
    assert removed.status_code == 204, removed.text

    assert (await pool.chat(bob, org)).status_code == 404  # on his very next request
    assert (await pool.chat(bob)).status_code == 200  # his own quota still works
    report = (await client.get(f"/api/v1/ai/orgs/{org}/usage", headers=alice)).json()
    assert [(m["user_id"], m["total_tokens"]) for m in report["members"]] == [(bob_id, CHARGED)]
    assert report["used_tokens"] == CHARGED


async def test_concurrent_calls_of_many_members_never_pass_the_pool(
    pool: Pool, fake_openai: FakeOpenAI
) -> None:
    # The pool is the organization's store counter, checked and reserved in one atomic
    # step as a user's own: twelve calls from three members, four fit.
    kit, client = pool.kit, pool.client
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    members = [alice]
    members.append(await join(kit, client, org, alice, "bob@example.com"))
    members.append(await join(kit, client, org, alice, "carol@example.com"))
    await pool.subscribe(alice, org)
    fake_openai.hold()  # every call past its reservation waits in the fake

    calls = [asyncio.ensure_future(pool.chat(m, org)) for m in members for _ in range(4)]
    # Until each call is refused or waiting in the fake: every reservation held at once.
    for _ in range(100_000):
        if sum(call.done() for call in calls) + fake_openai.held == len(calls):
            break
        await asyncio.sleep(0.001)
    fake_openai.release()
    statuses = sorted(r.status_code for r in await asyncio.gather(*calls))

    fits = TEAM_TOKENS // RESERVATION
    assert statuses == [200] * fits + [429] * (len(calls) - fits)
    assert len(fake_openai.chat_requests) == fits
    owner = Owner("organization", org)
    assert await kit.ai.meter.counted(owner) == fits * CHARGED  # every reservation settled
    report = (await client.get(f"/api/v1/ai/orgs/{org}/usage", headers=alice)).json()
    assert report["used_tokens"] == fits * CHARGED
    assert sum(m["total_tokens"] for m in report["members"]) == fits * CHARGED
    assert sum(m["requests"] for m in report["members"]) == fits
    for member in members:  # nobody's own quota was touched
        assert (await pool.usage(member))["used_tokens"] == 0


async def test_streaming_in_an_organization_is_recorded_per_member(pool: Pool) -> None:
    kit, client = pool.kit, pool.client
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    alice_id = await user_id(kit, "alice@example.com")
    await pool.subscribe(alice, org)

    streamed = await client.post(
        CHAT,
        json={"messages": HI, "stream": True},
        headers={**alice, "X-Organization": str(org)},
    )
    assert streamed.status_code == 200
    assert '"type":"usage"' in streamed.text.replace(" ", "")
    usage = await kit.ai.organization_usage(org)
    assert [(m.user_id, m.total_tokens) for m in usage.members] == [(alice_id, CHARGED)]
    assert usage.used_tokens == CHARGED


async def test_host_code_bills_an_organization_through_a_member_in_context(pool: Pool) -> None:
    kit, client = pool.kit, pool.client
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    bob_headers = await join(kit, client, org, alice, "bob@example.com")
    assert bob_headers
    bob_id = await user_id(kit, "bob@example.com")
    await pool.subscribe(alice, org)
    context = await kit.orgs.context(org, bob_id)  # what kit.current_org gives a route
    assert isinstance(context, OrgContext)

    await kit.ai.chat(context, HI)
    await kit.ai.record_usage(InOrganization(org, bob_id), "gpt-4o", 10, 5)
    async with kit.ai.metered(context, estimate=50) as call:
        await call.commit("gpt-4o-mini", 3, 2)
    await kit.ai.record_usage(Owner("organization", org), "gpt-4o", 4, 0)  # no member

    usage = await kit.ai.organization_usage(org)
    assert usage.used_tokens == CHARGED + 15 + 5 + 4
    (bob,) = usage.members
    assert (bob.user_id, bob.total_tokens, bob.requests) == (bob_id, CHARGED + 20, 3)
    assert sorted(m.model for m in bob.models) == ["gpt-4o", "gpt-4o-mini"]
    assert usage.unattributed_tokens == 4
    assert (await kit.ai.usage(context)).quota == TEAM_TOKENS
    assert (await kit.ai.usage(bob_id)).used_tokens == 0

    # A quota refusal in context is the organization's, with its numbers.
    await kit.ai.record_usage(context, "gpt-4o", TEAM_TOKENS, 0)
    with pytest.raises(AIQuotaExceeded) as refused:
        await kit.ai.chat(context, HI)
    assert refused.value.quota == TEAM_TOKENS


async def test_a_deleted_account_keeps_its_share_as_a_deleted_member(pool: Pool) -> None:
    kit, client = pool.kit, pool.client
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    await join(kit, client, org, alice, "bob@example.com")
    bob_id = await user_id(kit, "bob@example.com")
    await kit.ai.record_usage(InOrganization(org, bob_id), "gpt-4o-mini", 6, 4)

    await kit.users.delete(bob_id)

    usage = await kit.ai.organization_usage(org)
    assert [(m.user_id, m.total_tokens) for m in usage.members] == [(None, 10)]
    assert (usage.used_tokens, usage.unattributed_tokens) == (10, 0)


async def test_the_pool_counter_is_rebuilt_from_the_organizations_rows_only(pool: Pool) -> None:
    # The per-member rows repeat the organization's tokens: a rebuilt counter must not
    # count them twice.
    kit, meter = pool.kit, pool.kit.ai.meter
    alice = await verified(kit, pool.client, "alice@example.com")
    org_id = await new_org(pool.client, alice)
    org = Owner("organization", org_id)
    await kit.ai.record_usage(
        InOrganization(org_id, await user_id(kit, "alice@example.com")), "gpt-4o-mini", 20, 0
    )
    await kit.store.delete(counter_key(org, meter.current_month()))  # a cache loss

    await meter.reserve(org, 5, quota=25)  # 20 used + 5 fits exactly
    with pytest.raises(AIQuotaExceeded):
        await meter.reserve(org, 1, quota=25)
    async with kit.session_factory() as db:
        rows = (await db.execute(select(AIUsage).where(AIUsage.owner_id == org_id))).scalars()
        assert [(r.owner_kind, r.total_tokens) for r in rows] == [("organization", 20)]
    with pytest.raises(ValueError, match="pooled owners"):  # a user's usage has no members
        await meter.record(Owner.user(1), "gpt-4o-mini", 1, 1, member=1)


async def test_without_pooling_the_header_changes_nothing(
    database_url: str,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
    fake_openai: FakeOpenAI,
) -> None:
    kit = await pool_for(database_url, fake_stripe, fake_openai, pooled=False)
    transport = httpx.ASGITransport(app=build_app(kit), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            pool = Pool(kit, client, fake_stripe)
            alice = await verified(kit, client, "alice@example.com")
            org = await new_org(client, alice)
            await pool.subscribe(alice, org)
            assert (await pool.chat(alice, org)).status_code == 200
            assert (await pool.chat(alice, 999_999)).status_code == 200  # not even read
            assert (await pool.usage(alice, org))["quota"] == USER_TOKENS
            assert (await pool.usage(alice))["used_tokens"] == 2 * CHARGED
            hidden = await client.get(f"/api/v1/ai/orgs/{org}/usage", headers=alice)
            assert hidden.status_code == 404
            context = await kit.orgs.context(org, await user_id(kit, "alice@example.com"))
            assert kit.ai.bill_to(context) == (Owner.user(context.user_id), None)
    finally:
        await kit.aclose()


def test_bill_to() -> None:
    member = InOrganization(organization_id=3, user_id=5)
    assert bill_to(member, pooled=True) == (Owner("organization", 3), 5)
    assert bill_to(member, pooled=False) == (Owner.user(5), None)
    assert bill_to(5, pooled=True) == (Owner.user(5), None)
    assert bill_to(Owner("organization", 3), pooled=True) == (Owner("organization", 3), None)
    with pytest.raises(TypeError):
        bill_to("5", pooled=True)  # type: ignore[arg-type]


async def test_subscribed_only_plan_quotas_ignore_the_default_plan() -> None:
    class Plan:
        def __init__(self, subscribed: bool, tokens: int | None) -> None:
            self.subscribed, self.tokens = subscribed, tokens

        def quota(self, key: str, /) -> int | None:
            return self.tokens

    class Plans:
        def __init__(self, plan: Plan) -> None:
            self.plan = plan

        async def for_user(self, user_id: int, /) -> Plan:
            return self.plan

        async def for_owner(self, owner: Owner, /) -> Plan:
            return self.plan

    org = Owner("organization", 1)
    assert await PlanQuota(Plans(Plan(False, 50)), 0, subscribed_only=True).owner_tokens(org) == 0
    assert await PlanQuota(Plans(Plan(True, 50)), 0, subscribed_only=True).owner_tokens(org) == 50
    assert await PlanQuota(Plans(Plan(True, None)), 9, subscribed_only=True).owner_tokens(org) == 9
    assert await PlanQuota(Plans(Plan(False, 50)), 0).owner_tokens(org) == 50


async def test_pooling_without_organizations_fails_at_startup(
    database_url: str, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAASKIT_ORGS__ENABLED", "false")
    settings = make_settings(database_url, ai=fake_openai.ai_settings(pooled_org_quota=True))
    kit: SaaSKit[Any] = SaaSKit(settings, store=new_store())
    try:
        with pytest.raises(RuntimeError, match="POOLED_ORG_QUOTA needs organizations"):
            build_app(kit)
    finally:
        await kit.aclose()


async def test_a_deleted_organization_s_usage_rows_stay(pool: Pool) -> None:
    # Its monthly and daily rows are its history (and what was billed): deleting the
    # organization keeps both, attributed to its id.
    kit, client = pool.kit, pool.client
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    await kit.ai.meter.record(Owner("organization", org), "gpt-4o-mini", 4, 4)

    deleted = await client.delete(f"{ORGS}/{org}", headers=alice)
    assert deleted.status_code == 200, deleted.text

    async with kit.session_factory() as db:
        for key in ("ai_usage", "ai_daily_usage"):
            usage = kit.models.tables[key]
            rows = (
                await db.execute(select(usage.owner_kind, usage.owner_id, usage.requests))
            ).all()
            assert [tuple(row) for row in rows] == [("organization", org, 1)], key

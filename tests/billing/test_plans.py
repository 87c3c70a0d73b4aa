"""GET /billing/plans and POST /billing/sync."""

from __future__ import annotations

from typing import Any

from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import Billing, add_prices, billing_settings, gated_app
from tests.helpers import KitFactory, client_for

PLANS = "/api/v1/billing/plans"


async def test_plans_with_prices_from_stripe(billing: Billing) -> None:
    response = await billing.client.get(PLANS)
    assert response.status_code == 200
    plans = {plan["key"]: plan for plan in response.json()}
    assert list(plans) == ["free", "basic", "pro", "team"]
    assert plans["free"]["price"] is None
    assert plans["free"]["name"] == "Free"
    assert plans["pro"]["name"] == "Pro"
    assert plans["pro"]["quotas"] == {"ai_tokens": 100_000}
    assert plans["pro"]["price"]["unit_amount"] == 2000
    assert plans["pro"]["price"]["interval"] == "month"
    assert plans["basic"]["price"]["id"] == "price_basic"
    assert plans["team"]["trial_days"] == 14


async def test_prices_are_cached_in_the_store(billing: Billing) -> None:
    await billing.client.get(PLANS)
    calls = len(billing.fake.requests)
    second = await billing.client.get(PLANS)
    assert second.status_code == 200
    assert len(billing.fake.requests) == calls
    assert second.json()[2]["price"]["unit_amount"] == 2000


async def test_plans_still_list_when_stripe_is_down(
    make_kit: KitFactory, fake_stripe: FakeStripe
) -> None:
    kit = await make_kit(billing=billing_settings(fake_stripe))
    fake_stripe.fail_next(503, path="/v1/prices", times=5)
    async with client_for(kit) as client:
        response = await client.get(PLANS)
    assert response.status_code == 200
    assert [plan["price"] for plan in response.json()] == [None] * 4


async def test_sync_shows_the_plan_before_any_webhook(billing: Billing) -> None:
    headers = await billing.signup()
    billing.fake.complete_checkout(await billing.checkout(headers, "team"))
    assert (await billing.status(headers))["plan"] == "free"
    response = await billing.client.post("/api/v1/billing/sync", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["plan"], body["entitled"]) == ("team", True)
    assert body["subscription"]["status"] == "trialing"
    assert (await billing.client.get("/sso", headers=headers)).status_code == 200
    # The webhooks arriving afterwards change nothing.
    await billing.deliver(shuffle=True, seed=1)
    assert (await billing.status(headers))["subscription"] == body["subscription"]


async def test_sync_without_customer_is_harmless(billing: Billing) -> None:
    billing.fake.fail_next(500, path="/v1/customers")
    headers = await billing.signup()
    response = await billing.client.post("/api/v1/billing/sync", headers=headers)
    assert response.status_code == 200
    assert response.json()["plan"] == "free"
    assert billing.fake.customers() == []


async def test_sync_is_rate_limited(billing: Billing) -> None:
    headers = await billing.signup()
    for _ in range(10):
        assert (
            await billing.client.post("/api/v1/billing/sync", headers=headers)
        ).status_code == 200
    limited = await billing.client.post("/api/v1/billing/sync", headers=headers)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1


async def test_the_sync_limit_is_the_configured_rate_limit_rule(
    make_kit: KitFactory, fake_stripe: FakeStripe
) -> None:
    add_prices(fake_stripe)
    kit = await make_kit(billing=billing_settings(fake_stripe), rate_limit={"billing_sync": "2/1h"})
    async with client_for(kit, gated_app(kit)) as client:
        billing = Billing(kit, client, fake_stripe)
        alice = await billing.signup()
        bob = await billing.signup("bob@example.com")
        for _ in range(2):
            assert (await client.post("/api/v1/billing/sync", headers=alice)).status_code == 200
        limited = await client.post("/api/v1/billing/sync", headers=alice)
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert 3500 < int(limited.headers["Retry-After"]) <= 3600
        # Counted per billing owner: another user still syncs.
        assert (await client.post("/api/v1/billing/sync", headers=bob)).status_code == 200


async def test_the_plan_list_is_served_from_the_response_cache(billing: Billing) -> None:
    first = await billing.client.get(PLANS)
    offers = 0
    real_offers = billing.kit.billing.offers

    async def counted() -> Any:
        nonlocal offers
        offers += 1
        return await real_offers()

    billing.kit.billing.offers = counted  # type: ignore[method-assign]
    second = await billing.client.get(PLANS)
    assert second.json() == first.json()
    assert offers == 0
    await billing.kit.cache.invalidate(billing.kit.cache.shared())
    assert (await billing.client.get(PLANS)).json() == first.json()
    assert offers == 1


async def test_a_plan_list_without_prices_during_an_outage_is_not_cached(
    make_kit: KitFactory, fake_stripe: FakeStripe
) -> None:
    add_prices(fake_stripe)
    kit = await make_kit(billing=billing_settings(fake_stripe))
    fake_stripe.fail_next(503, path="/v1/prices", times=5)
    async with client_for(kit) as client:
        during = await client.get(PLANS)
        fake_stripe.clear_failures()  # Stripe is back
        after = await client.get(PLANS)
    assert [plan["price"] for plan in during.json()] == [None] * 4
    assert after.json()[2]["price"]["unit_amount"] == 2000

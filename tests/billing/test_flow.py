"""The issue's acceptance path: register, checkout, webhook, plan-gated route, portal."""

from __future__ import annotations

from tests.billing.helpers import Billing


async def test_register_creates_one_customer(billing: Billing) -> None:
    await billing.signup()
    user = await billing.user()
    customers = billing.fake.customers()
    assert len(customers) == 1
    assert user.stripe_customer_id == customers[0]["id"]
    assert customers[0]["email"] == "alice@example.com"
    assert customers[0]["metadata"] == {"user_id": str(user.id)}
    (call,) = billing.fake.calls("POST", "/v1/customers")
    assert call.idempotency_key is not None
    assert call.idempotency_key.startswith(f"saaskit-customer-{user.id}-")
    assert call.stripe_version == billing.kit.settings.billing.api_version


async def test_checkout_webhook_then_plan_gated_route_opens(billing: Billing) -> None:
    headers = await billing.signup()
    assert (await billing.client.get("/reports", headers=headers)).status_code == 402
    before = await billing.status(headers)
    assert before["plan"] == "free"
    assert before["entitled"] is False
    assert before["subscription"] is None

    response = await billing.client.post(
        "/api/v1/billing/create-checkout-session", json={"plan": "pro"}, headers=headers
    )
    assert response.status_code == 200
    session = response.json()
    assert set(session) == {"id", "url"}
    assert session["id"].startswith("cs_")
    assert session["url"].startswith(billing.fake.url)

    subscription = billing.fake.complete_checkout(session["id"])
    await billing.deliver()

    status = await billing.status(headers)
    assert status["plan"] == "pro"
    assert status["entitled"] is True
    assert status["features"] == ["basic", "reports"]
    assert status["quotas"] == {"ai_tokens": 100_000}
    assert status["subscription"]["id"] == subscription["id"]
    assert status["subscription"]["status"] == "active"
    reports = await billing.client.get("/reports", headers=headers)
    assert reports.status_code == 200
    assert reports.json() == {"plan": "pro"}
    assert len(billing.fake.customers()) == 1

    portal = await billing.client.get("/api/v1/billing/customer-portal", headers=headers)
    assert portal.status_code == 200
    assert portal.json()["url"].startswith(f"{billing.fake.url}/p/session/bps_")


async def test_plan_for_user_and_plan_of(billing: Billing) -> None:
    headers = await billing.signup()
    user = await billing.user()
    free = await billing.kit.plans.for_user(user.id)
    assert (free.key, free.subscribed, free.quota("ai_tokens")) == ("free", False, 1000)
    await billing.subscribe(headers, "pro")
    pro = await billing.kit.plans.for_user(user.id)
    assert pro.key == "pro"
    assert pro.subscribed
    assert pro.quota("ai_tokens") == 100_000
    assert pro.quota("unknown") is None
    assert "reports" in pro.features
    assert await billing.kit.plans.plan_of(user.id) == "pro"

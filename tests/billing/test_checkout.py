"""POST /billing/create-checkout-session and GET /billing/customer-portal."""

from __future__ import annotations

from typing import Any

import pytest

from saaskit.models import Subscription
from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import Billing, add_prices, billing_settings
from tests.helpers import KitFactory, answer, client_for

CHECKOUT = "/api/v1/billing/create-checkout-session"


async def test_checkout_passes_what_maps_events_back_to_the_user(billing: Billing) -> None:
    headers = await billing.signup()
    user = await billing.user()
    await billing.checkout(headers, "pro", quantity=3)
    (call,) = billing.fake.calls("POST", "/v1/checkout/sessions")
    params = call.params
    pro_price = billing.fake.objects("prices")[1]["id"]
    assert params["mode"] == "subscription"
    assert params["customer"] == user.stripe_customer_id
    assert params["client_reference_id"] == str(user.id)
    assert params["line_items"] == [{"price": pro_price, "quantity": "3"}]
    assert params["metadata"] == {"user_id": str(user.id), "plan": "pro"}
    assert params["subscription_data"] == {"metadata": {"user_id": str(user.id), "plan": "pro"}}
    assert params["success_url"] == (
        "http://localhost:3000/billing/success?session_id={CHECKOUT_SESSION_ID}"
    )
    assert params["cancel_url"] == "http://localhost:3000/billing"


async def test_price_ids_and_lookup_keys_both_work(billing: Billing) -> None:
    headers = await billing.signup()
    await billing.checkout(headers, "basic")
    (call,) = billing.fake.calls("POST", "/v1/checkout/sessions")
    assert call.params["line_items"][0]["price"] == "price_basic"
    assert billing.fake.calls("GET", "/v1/prices/price_basic") == []  # ids need no lookup


async def test_trial_from_settings_is_offered_once(billing: Billing) -> None:
    headers = await billing.signup()
    subscription = billing.fake.complete_checkout(await billing.checkout(headers, "team"))
    assert subscription["status"] == "trialing"
    (call,) = billing.fake.calls("POST", "/v1/checkout/sessions")
    assert call.params["subscription_data"]["trial_period_days"] == "14"
    await billing.deliver()
    billing.fake.cancel_subscription(subscription["id"])
    await billing.deliver()

    await billing.checkout(headers, "team")
    second = billing.fake.calls("POST", "/v1/checkout/sessions")[1]
    assert "trial_period_days" not in second.params["subscription_data"]


async def test_allowed_redirects(billing: Billing) -> None:
    headers = await billing.signup()
    await billing.checkout(
        headers,
        "pro",
        success_url="https://app.example.com/thanks?s={CHECKOUT_SESSION_ID}",
        cancel_url="http://localhost:3000/pricing",
    )
    (call,) = billing.fake.calls("POST", "/v1/checkout/sessions")
    assert call.params["success_url"] == "https://app.example.com/thanks?s={CHECKOUT_SESSION_ID}"
    assert call.params["cancel_url"] == "http://localhost:3000/pricing"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/thanks",
        "https://app.example.com.evil.com/",
        "https://app.example.com@evil.com/",
        "http://app.example.com/",  # another scheme is another origin
        "https://app.example.com:8443/",
        "javascript:alert(1)",
        "//evil.com/path",
        "/relative",
    ],
)
async def test_foreign_redirects_are_refused_and_nothing_is_written(
    make_kit: KitFactory, fake_stripe: FakeStripe, url: str
) -> None:
    add_prices(fake_stripe)
    kit = await make_kit(billing=billing_settings(fake_stripe, create_customer_on_register=False))
    async with client_for(kit) as client:
        billing = Billing(kit, client, fake_stripe)
        headers = await billing.signup()
        for field in ("success_url", "cancel_url"):
            response = await client.post(
                CHECKOUT, json={"plan": "pro", field: url}, headers=headers
            )
            assert response.status_code == 400
            assert response.json()["error"]["code"] == "redirect_not_allowed"
    assert fake_stripe.customers() == []
    assert fake_stripe.calls("POST", "/v1/checkout/sessions") == []
    assert (await billing.user()).stripe_customer_id is None


@pytest.mark.parametrize("plan", ["enterprise", "free", "price_basic"])
async def test_unknown_or_free_plan_is_refused_and_nothing_is_written(
    make_kit: KitFactory, fake_stripe: FakeStripe, plan: str
) -> None:
    add_prices(fake_stripe)
    kit = await make_kit(billing=billing_settings(fake_stripe, create_customer_on_register=False))
    async with client_for(kit) as client:
        billing = Billing(kit, client, fake_stripe)
        headers = await billing.signup()
        response = await client.post(CHECKOUT, json={"plan": plan}, headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_plan"
    assert "basic, pro, team" in error["message"]
    assert fake_stripe.customers() == []
    assert fake_stripe.calls("POST", "/v1/checkout/sessions") == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"plan": ""},
        {"plan": "pro", "quantity": 0},
        {"plan": "pro", "quantity": "many"},
        {"plan": "pro", "price_id": "price_x"},
    ],
)
async def test_invalid_bodies_are_422(billing: Billing, body: dict[str, Any]) -> None:
    headers = await billing.signup()
    response = await billing.client.post(CHECKOUT, json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_billing_routes_need_a_user(billing: Billing) -> None:
    assert (await billing.client.post(CHECKOUT, json={"plan": "pro"})).status_code == 401
    for path in ("customer-portal", "subscription"):
        assert (await billing.client.get(f"/api/v1/billing/{path}")).status_code == 401
    assert (await billing.client.post("/api/v1/billing/sync")).status_code == 401


async def test_second_checkout_while_subscribed_is_409(billing: Billing) -> None:
    headers = await billing.signup()
    await billing.subscribe(headers, "pro")
    response = await billing.client.post(CHECKOUT, json={"plan": "team"}, headers=headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_subscribed"


async def test_second_checkout_before_the_webhook_is_409_too(billing: Billing) -> None:
    headers = await billing.signup()
    billing.fake.complete_checkout(await billing.checkout(headers, "pro"))
    # No webhook delivered: the checkout re-reads Stripe and sees the subscription.
    response = await billing.client.post(CHECKOUT, json={"plan": "pro"}, headers=headers)
    assert response.status_code == 409
    assert len(await billing.rows(Subscription)) == 1


async def test_lookup_key_missing_in_stripe_is_502(
    make_kit: KitFactory, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_price(price_id="price_basic")
    kit = await make_kit(billing=billing_settings(fake_stripe))
    async with client_for(kit) as client:
        billing = Billing(kit, client, fake_stripe)
        headers = await billing.signup()
        response = await client.post(CHECKOUT, json={"plan": "pro"}, headers=headers)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "billing_rejected"


async def test_stripe_rejection_is_502_without_stripe_details(billing: Billing) -> None:
    headers = await billing.signup()
    billing.fake.fail_next(
        400, type="invalid_request_error", code="parameter_invalid", path="/v1/checkout"
    )
    response = await billing.client.post(CHECKOUT, json={"plan": "pro"}, headers=headers)
    assert response.status_code == 502
    assert answer(response)["error"] == {
        "code": "billing_rejected",
        "message": "The payment provider rejected the request.",
    }


async def test_stripe_outage_is_503(billing: Billing) -> None:
    headers = await billing.signup()
    billing.fake.fail_next(disconnect=True, path="/v1/checkout")
    response = await billing.client.post(CHECKOUT, json={"plan": "pro"}, headers=headers)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "billing_unavailable"


async def test_portal_uses_the_configured_return_url(
    make_kit: KitFactory, fake_stripe: FakeStripe
) -> None:
    settings = billing_settings(fake_stripe, portal_return_url="https://app.example.com/account")
    kit = await make_kit(billing=settings)
    async with client_for(kit) as client:
        headers = await Billing(kit, client, fake_stripe).signup()
        response = await client.get("/api/v1/billing/customer-portal", headers=headers)
    assert response.status_code == 200
    assert set(response.json()) == {"url"}
    (call,) = fake_stripe.calls("POST", "/v1/billing_portal/sessions")
    assert call.params["return_url"] == "https://app.example.com/account"


async def test_an_incomplete_subscription_blocks_a_second_checkout_and_grants_nothing(
    billing: Billing,
) -> None:
    headers = await billing.signup()
    subscription = await billing.subscribe(headers, "pro")
    billing.fake.change_subscription(subscription, status="incomplete")  # awaiting 3-D Secure
    await billing.deliver()

    status = await billing.status(headers)
    assert (status["plan"], status["entitled"]) == ("free", False)
    assert (await billing.client.get("/reports", headers=headers)).status_code == 402
    response = await billing.client.post(CHECKOUT, json={"plan": "team"}, headers=headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_subscribed"
    assert len(billing.fake.calls("POST", "/v1/checkout/sessions")) == 1


async def test_promotion_and_tax_settings_reach_the_checkout_session(
    make_kit: KitFactory, fake_stripe: FakeStripe
) -> None:
    add_prices(fake_stripe)
    settings = billing_settings(
        fake_stripe,
        allow_promotion_codes=True,
        automatic_tax=True,
        tax_id_collection=True,
        billing_address_collection="required",
    )
    kit = await make_kit(billing=settings)
    async with client_for(kit) as client:
        billing = Billing(kit, client, fake_stripe)
        headers = await billing.signup()
        session_id = await billing.checkout(headers, "pro")
    (call,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert call.params["allow_promotion_codes"] == "true"
    assert "discounts" not in call.params  # Stripe refuses both together
    assert call.params["automatic_tax"] == {"enabled": "true"}
    assert call.params["tax_id_collection"] == {"enabled": "true"}
    assert call.params["customer_update"] == {"address": "auto", "name": "auto"}
    session = next(s for s in fake_stripe.objects("checkout_sessions") if s["id"] == session_id)
    assert session["allow_promotion_codes"] is True
    assert session["automatic_tax"] == {"enabled": True}
    assert session["billing_address_collection"] == "required"


async def test_without_those_settings_checkout_asks_for_no_tax_or_codes(billing: Billing) -> None:
    headers = await billing.signup()
    await billing.checkout(headers, "pro")
    (call,) = billing.fake.calls("POST", "/v1/checkout/sessions")
    for param in ("allow_promotion_codes", "automatic_tax", "tax_id_collection", "customer_update"):
        assert param not in call.params
    assert call.params["billing_address_collection"] == "auto"

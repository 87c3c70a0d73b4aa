"""A plan has several prices (monthly, yearly, currencies); each one grants the plan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from saaskit.settings import BillingSettings
from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import PLANS, Billing, add_prices, billing_settings, gated_app
from tests.helpers import KitFactory

CHECKOUT = "/api/v1/billing/create-checkout-session"

MULTI: dict[str, Any] = {
    **PLANS,
    "pro": {**PLANS["pro"], "prices": ["pro_yearly", "pro_monthly_eur"]},
}


@pytest.fixture
async def multi(make_kit: KitFactory, fake_stripe: FakeStripe) -> AsyncIterator[Billing]:
    add_prices(fake_stripe)
    fake_stripe.add_price("pro_yearly", unit_amount=20000, interval="year", product="Pro")
    fake_stripe.add_price("pro_monthly_eur", unit_amount=1900, currency="eur", product="Pro")
    fake_stripe.add_price("orphan_monthly", unit_amount=100, product="Orphan")
    settings = billing_settings(fake_stripe)
    settings["plans"] = MULTI
    kit = await make_kit(billing=settings)
    transport = httpx.ASGITransport(app=gated_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Billing(kit, client, fake_stripe)


def price_of(fake: FakeStripe, lookup_key: str) -> str:
    return str(next(p["id"] for p in fake.objects("prices") if p["lookup_key"] == lookup_key))


async def test_switching_to_the_yearly_price_in_the_portal_keeps_the_plan(multi: Billing) -> None:
    headers = await multi.signup()
    subscription = await multi.subscribe(headers, "pro")
    assert (await multi.client.get("/reports", headers=headers)).json() == {"plan": "pro"}

    multi.fake.change_subscription(subscription, price="pro_yearly")
    await multi.deliver()

    status = await multi.status(headers)
    assert status["plan"] == "pro"
    assert status["entitled"] is True
    assert status["plan_recognized"] is True
    assert status["subscription"]["price_id"] == price_of(multi.fake, "pro_yearly")
    assert (await multi.client.get("/reports", headers=headers)).status_code == 200


@pytest.mark.parametrize(
    ("body", "lookup_key"),
    [
        ({}, "pro_monthly"),
        ({"interval": "month"}, "pro_monthly"),
        ({"interval": "year"}, "pro_yearly"),
        ({"currency": "EUR"}, "pro_monthly_eur"),
        ({"interval": "month", "currency": "eur"}, "pro_monthly_eur"),
    ],
)
async def test_checkout_chooses_the_price_by_interval_and_currency(
    multi: Billing, body: dict[str, str], lookup_key: str
) -> None:
    headers = await multi.signup()
    await multi.checkout(headers, "pro", **body)
    (call,) = multi.fake.calls("POST", "/v1/checkout/sessions")
    assert call.params["line_items"][0]["price"] == price_of(multi.fake, lookup_key)


async def test_checkout_for_a_price_the_plan_does_not_have_is_refused(multi: Billing) -> None:
    headers = await multi.signup()
    response = await multi.client.post(
        CHECKOUT, json={"plan": "pro", "interval": "year", "currency": "eur"}, headers=headers
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_plan"
    assert "month usd, year usd, month eur" in error["message"]
    assert multi.fake.calls("POST", "/v1/checkout/sessions") == []


@pytest.mark.parametrize("body", [{"interval": "fortnight"}, {"currency": "euro"}])
async def test_malformed_interval_or_currency_is_a_422(
    multi: Billing, body: dict[str, str]
) -> None:
    headers = await multi.signup()
    response = await multi.client.post(CHECKOUT, json={"plan": "pro", **body}, headers=headers)
    assert response.status_code == 422


async def test_plans_list_every_price_with_the_default_first(multi: Billing) -> None:
    plans = {plan["key"]: plan for plan in (await multi.client.get("/api/v1/billing/plans")).json()}
    pro = plans["pro"]
    assert pro["price"]["id"] == price_of(multi.fake, "pro_monthly")
    assert [(p["interval"], p["currency"], p["unit_amount"]) for p in pro["prices"]] == [
        ("month", "usd", 2000),
        ("year", "usd", 20000),
        ("month", "eur", 1900),
    ]
    assert plans["free"]["prices"] == []


async def test_a_price_no_plan_lists_is_visible_and_logged_not_silent(
    multi: Billing, caplog: pytest.LogCaptureFixture
) -> None:
    headers = await multi.signup()
    subscription = await multi.subscribe(headers, "pro")
    multi.fake.change_subscription(subscription, price="orphan_monthly")
    with caplog.at_level(logging.ERROR, logger="saaskit.billing"):
        await multi.deliver()

    status = await multi.status(headers)
    assert status["plan"] == "free"  # the default plan's grants, not pro's
    assert status["plan_recognized"] is False
    assert status["subscription"]["status"] == "active"
    assert "no configured plan lists" in caplog.text
    assert subscription in caplog.text


def test_a_price_belongs_to_one_plan() -> None:
    plans = {
        "pro": {"price": "pro_monthly", "prices": ["shared"]},
        "team": {"price": "team_monthly", "prices": ["shared"]},
    }
    with pytest.raises(ValidationError, match="price 'shared' is in plans 'pro' and 'team'"):
        BillingSettings(plans=plans)


def test_other_prices_need_a_default_price() -> None:
    with pytest.raises(ValidationError, match="has other prices but no `price`"):
        BillingSettings(plans={"pro": {"prices": ["pro_yearly"]}})

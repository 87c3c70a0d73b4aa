"""In-app subscription management: preview and change plans, cancel and resume, invoices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import PLANS, Billing, add_prices, billing_settings, gated_app
from tests.helpers import KitFactory

BASE = "/api/v1/billing"
MULTI: dict[str, Any] = {**PLANS, "pro": {**PLANS["pro"], "prices": ["pro_yearly"]}}


@pytest.fixture
async def billing(make_kit: KitFactory, fake_stripe: FakeStripe) -> AsyncIterator[Billing]:
    add_prices(fake_stripe)
    fake_stripe.add_price("pro_yearly", unit_amount=20000, interval="year", product="Pro")
    settings = billing_settings(fake_stripe)
    settings["plans"] = MULTI
    kit = await make_kit(billing=settings)
    transport = httpx.ASGITransport(app=gated_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Billing(kit, client, fake_stripe)


def price_id(fake: FakeStripe, lookup_key: str) -> str:
    return str(next(p["id"] for p in fake.objects("prices") if p["lookup_key"] == lookup_key))


def updates_of(fake: FakeStripe) -> list[Any]:
    return [
        r for r in fake.requests if r.method == "POST" and r.path.startswith("/v1/subscriptions/")
    ]


async def post(billing: Billing, path: str, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await billing.client.post(f"{BASE}{path}", json=body or None, headers=headers)


async def test_an_upgrade_charges_what_its_preview_showed(billing: Billing) -> None:
    headers = await billing.signup()
    await billing.subscribe(headers, "pro")

    preview = await post(billing, "/subscription/preview", headers, plan="team")
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert shown["currency"] == "usd"
    prorations = [line["amount"] for line in shown["lines"] if line["proration"]]
    assert len(prorations) == 2
    assert prorations[0] < 0 < prorations[1]  # a credit, then a charge
    assert shown["amount_due"] == max(0, sum(line["amount"] for line in shown["lines"]))
    assert updates_of(billing.fake) == []  # a preview changes nothing

    changed = await post(
        billing,
        "/subscription/change",
        headers,
        plan="team",
        proration_date=shown["proration_date"],
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["plan"] == "team"
    assert changed.json()["subscription"]["price_id"] == price_id(billing.fake, "team_monthly")
    (asked,) = billing.fake.calls("POST", "/v1/invoices/create_preview")
    (update,) = updates_of(billing.fake)
    shown_at = asked.params["subscription_details"]["proration_date"]
    assert update.params["proration_date"] == shown_at  # the same date: the same amounts
    assert update.params["proration_behavior"] == "create_prorations"
    assert update.params["metadata"] == {"plan": "team"}
    assert int(shown_at) == int(datetime.fromisoformat(shown["proration_date"]).timestamp())
    assert (await billing.client.get("/sso", headers=headers)).status_code == 200  # team grants


async def test_yearly_and_monthly_switches_keep_the_plan(billing: Billing) -> None:
    headers = await billing.signup()
    await billing.subscribe(headers, "pro")

    yearly = await post(billing, "/subscription/change", headers, plan="pro", interval="year")
    assert yearly.status_code == 200, yearly.text
    assert yearly.json()["plan"] == "pro"
    assert yearly.json()["subscription"]["price_id"] == price_id(billing.fake, "pro_yearly")
    await billing.deliver()  # the webhook that follows agrees
    assert (await billing.status(headers))["plan"] == "pro"

    monthly = await post(billing, "/subscription/change", headers, plan="pro", interval="month")
    assert monthly.json()["subscription"]["price_id"] == price_id(billing.fake, "pro_monthly")
    assert monthly.json()["plan"] == "pro"
    assert (await billing.client.get("/reports", headers=headers)).status_code == 200


async def test_changing_to_the_price_it_has_calls_stripe_for_nothing(billing: Billing) -> None:
    headers = await billing.signup()
    subscription = await billing.subscribe(headers, "pro")
    same = await post(billing, "/subscription/change", headers, plan="pro")
    assert same.status_code == 200
    assert billing.fake.calls("POST", f"/v1/subscriptions/{subscription}") == []


async def test_without_a_subscription_there_is_nothing_to_change(billing: Billing) -> None:
    headers = await billing.signup()
    for path, body in [
        ("/subscription/preview", {"plan": "team"}),
        ("/subscription/change", {"plan": "team"}),
        ("/subscription/cancel", {}),
        ("/subscription/resume", {}),
    ]:
        response = await post(billing, path, headers, **body)
        assert response.status_code == 409, path
        assert response.json()["error"]["code"] == "no_subscription"


@pytest.mark.parametrize("age", [timedelta(hours=2), -timedelta(minutes=5)])
async def test_a_stale_or_future_proration_date_is_refused(
    billing: Billing, age: timedelta
) -> None:
    headers = await billing.signup()
    subscription = await billing.subscribe(headers, "pro")
    at = (datetime.now(UTC) - age).isoformat()
    response = await post(billing, "/subscription/change", headers, plan="team", proration_date=at)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "preview_expired"
    assert billing.fake.calls("POST", f"/v1/subscriptions/{subscription}") == []
    assert (await billing.status(headers))["plan"] == "pro"


async def test_unknown_plan_or_bad_body(billing: Billing) -> None:
    headers = await billing.signup()
    await billing.subscribe(headers, "pro")
    unknown = await post(billing, "/subscription/change", headers, plan="platinum")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "unknown_plan")
    extra = await post(billing, "/subscription/preview", headers, plan="team", seats=3)
    assert extra.status_code == 422


async def test_cancel_at_period_end_keeps_the_plan_and_resume_undoes_it(billing: Billing) -> None:
    headers = await billing.signup()
    await billing.subscribe(headers, "pro")

    canceled = await post(billing, "/subscription/cancel", headers)
    assert canceled.status_code == 200, canceled.text
    body = canceled.json()
    assert (body["plan"], body["subscription"]["cancel_at_period_end"]) == ("pro", True)
    assert (await post(billing, "/subscription/cancel", headers)).status_code == 200  # again: same

    resumed = await post(billing, "/subscription/resume", headers)
    assert resumed.json()["subscription"]["cancel_at_period_end"] is False
    assert resumed.json()["plan"] == "pro"
    updates = updates_of(billing.fake)
    assert [c.params["cancel_at_period_end"] for c in updates] == ["true", "false"]


async def test_invoices_are_listed_newest_first_and_paginated(billing: Billing) -> None:
    headers = await billing.signup()
    empty = await billing.client.get(f"{BASE}/invoices", headers=headers)
    assert empty.json() == {"data": [], "has_more": False, "next_cursor": None}

    subscription = await billing.subscribe(headers, "pro")
    billing.fake.renew(subscription)
    billing.fake.renew(subscription)
    first = (await billing.client.get(f"{BASE}/invoices?limit=2", headers=headers)).json()
    assert first["has_more"] is True
    assert [i["status"] for i in first["data"]] == ["paid", "paid"]
    invoice = first["data"][0]
    assert (invoice["total"], invoice["currency"]) == (2000, "usd")
    assert all(invoice[key] for key in ("number", "hosted_invoice_url", "invoice_pdf"))
    rest = await billing.client.get(
        f"{BASE}/invoices", params={"starting_after": first["next_cursor"]}, headers=headers
    )
    page = rest.json()
    assert (len(page["data"]), page["has_more"], page["next_cursor"]) == (1, False, None)
    numbers = [i["number"] for i in first["data"] + page["data"]]
    assert numbers == sorted(numbers, reverse=True)
    assert len(set(numbers)) == 3


async def test_another_customers_invoice_cannot_be_used_as_a_cursor(billing: Billing) -> None:
    alice = await billing.signup()
    await billing.subscribe(alice, "pro")
    alices = (await billing.client.get(f"{BASE}/invoices", headers=alice)).json()["data"]
    bob = await billing.signup("bob@example.com")
    await billing.subscribe(bob, "pro")
    response = await billing.client.get(
        f"{BASE}/invoices", params={"starting_after": alices[0]["id"]}, headers=bob
    )
    assert response.status_code == 200
    assert response.json()["data"] == []
    bad = await billing.client.get(
        f"{BASE}/invoices", params={"starting_after": "../customers"}, headers=bob
    )
    assert bad.status_code == 422

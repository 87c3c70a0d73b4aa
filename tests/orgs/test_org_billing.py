"""An organization is a billing owner: members with ``billing:manage`` check out and read
its subscription with ``?owner=organization:<id>``; anyone else gets 404."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from tests.billing.helpers import Billing, add_prices, billing_settings, gated_app
from tests.helpers import KitFactory
from tests.orgs.helpers import ORGS, new_org


@pytest.fixture
async def billing(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
) -> AsyncIterator[Billing]:
    add_prices(fake_stripe)
    kit = await make_kit(billing=billing_settings(fake_stripe))
    transport = httpx.ASGITransport(app=gated_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Billing(kit, client, fake_stripe)


async def test_an_organization_subscribes_through_its_billing_managers(billing: Billing) -> None:
    client = billing.client
    alice = await billing.signup("alice@example.com")
    bob = await billing.signup("bob@example.com")
    org = await new_org(client, alice)
    as_org = {"owner": f"organization:{org}"}

    refused = await client.get("/api/v1/billing/subscription", params=as_org, headers=bob)
    missing = await client.get(
        "/api/v1/billing/subscription", params={"owner": "organization:999"}, headers=alice
    )
    assert refused.status_code == missing.status_code == 404

    session = await billing.checkout_for(alice, as_org, "pro")
    billing.fake.complete_checkout(session)
    await billing.deliver()
    status = await client.get("/api/v1/billing/subscription", params=as_org, headers=alice)
    assert status.status_code == 200
    assert status.json()["plan"] == "pro"
    mine = await client.get("/api/v1/billing/subscription", headers=alice)
    assert mine.json()["plan"] != "pro"  # the organization's plan, not Alice's

    kept = await client.delete(f"{ORGS}/{org}", headers=alice)
    assert kept.status_code == 409
    assert kept.json()["error"]["code"] == "organization_has_subscription"


async def test_plan_gates_of_an_organization(billing: Billing) -> None:
    from fastapi import Depends, FastAPI

    from saaskit.billing.plans import UserPlan
    from tests.helpers import build_app

    kit = billing.kit
    app: FastAPI = build_app(kit)

    @app.get("/api/v1/orgs/{org_id}/reports")
    async def reports(plan: UserPlan = Depends(kit.require_org_plan("pro"))) -> dict[str, str]:
        return {"plan": str(plan.key)}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        alice = await billing.signup("alice@example.com")
        bob = await billing.signup("bob@example.com")
        org = await new_org(client, alice)
        path = f"/api/v1/orgs/{org}/reports"
        assert (await client.get(path, headers=alice)).status_code == 402
        assert (await client.get(path, headers=bob)).status_code == 404
        session = await billing.checkout_for(alice, {"owner": f"organization:{org}"}, "pro")
        billing.fake.complete_checkout(session)
        await billing.deliver()
        allowed = await client.get(path, headers=alice)
        assert allowed.status_code == 200
        assert allowed.json() == {"plan": "pro"}
        assert (await client.get(path, headers=bob)).status_code == 404

"""An organization is a billing owner: members with ``billing:manage`` check out and read
its subscription with ``?owner=organization:<id>``; anyone else gets 404."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from saaskit.orgs.wiring import OrgsFeature
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from saaskit.types import Owner
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

    deleted = await client.delete(f"{ORGS}/{org}", headers=alice)
    assert deleted.status_code == 200
    assert deleted.json()["subscription_canceled"] is True


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


async def test_the_subscription_quantity_follows_the_members(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Accept and removal queue one job that sets the absolute quantity on Stripe; the
    webhook that follows updates the local subscription."""
    from saaskit.email.memory import MemorySender
    from tests.orgs.helpers import join, user_id, verified

    monkeypatch.setenv("SAASKIT_ORGS__SYNC_SEAT_QUANTITY", "true")
    monkeypatch.setenv("SAASKIT_ORGS__PRORATION_BEHAVIOR", "always_invoice")
    # No time between updates here (the debounce in time: test_seat_billing.py).
    monkeypatch.setenv("SAASKIT_ORGS__SEAT_SYNC_INTERVAL_SECONDS", "0")
    add_prices(fake_stripe)
    kit = await make_kit(billing=billing_settings(fake_stripe))
    kit.email_sender = kit.mailer.sender = MemorySender()
    transport = httpx.ASGITransport(app=gated_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        billing = Billing(kit, client, fake_stripe)
        alice = await verified(kit, client, "alice@example.com")
        org = await new_org(client, alice)
        as_org = {"owner": f"organization:{org}"}
        subscription = fake_stripe.complete_checkout(
            await billing.checkout_for(alice, as_org, "pro")
        )
        await billing.deliver()

        def quantity() -> int:
            sub = next(
                s for s in fake_stripe.objects("subscriptions") if s["id"] == subscription["id"]
            )
            return int(sub["items"]["data"][0]["quantity"])

        await join(kit, client, org, alice, "bob@example.com")
        await kit.runner.drain()
        assert quantity() == 2
        updates = fake_stripe.calls("POST", f"/v1/subscriptions/{subscription['id']}")
        assert updates[-1].params["proration_behavior"] == "always_invoice"
        await billing.deliver()
        local = await kit.plans.current(Owner("organization", org))
        assert local is not None
        assert local.quantity == 2

        await kit.orgs.remove(
            org, await user_id(kit, "alice@example.com"), await user_id(kit, "bob@example.com")
        )
        await kit.runner.drain()
        assert quantity() == 1

        # A burst of changes: the runs are serialized and set the absolute count once.
        member = kit.orgs.membership
        for i in range(3):
            extra = await kit.users.create(f"x{i}@example.com", "correct horse battery staple 42")
            async with kit.session_factory() as db, db.begin():
                db.add(member(organization_id=org, user_id=extra.id, role="member"))  # type: ignore[call-arg]
        before = len(fake_stripe.calls("POST", f"/v1/subscriptions/{subscription['id']}"))
        feature = kit.features.named("orgs")
        assert isinstance(feature, OrgsFeature)
        seat_sync = feature.seat_sync
        assert seat_sync is not None
        await asyncio.gather(*(seat_sync.request(org) for _ in range(10)))
        await kit.runner.drain()
        assert quantity() == 4
        after = len(fake_stripe.calls("POST", f"/v1/subscriptions/{subscription['id']}"))
        assert after - before == 1


async def test_an_organization_requiring_2fa_keeps_its_billing_from_members_without_it(
    billing: Billing,
) -> None:
    client = billing.client
    alice = await billing.signup("alice@example.com")
    org = await new_org(client, alice)
    as_org = {"owner": f"organization:{org}"}
    assert (
        await client.get("/api/v1/billing/subscription", params=as_org, headers=alice)
    ).status_code == 200

    service = billing.kit.feature(OrgsFeature)
    user = await billing.kit.users.get_by_email("alice@example.com")
    assert user is not None
    await service.set_mfa_required(await service.context(org, user.id), True)
    # Alice manages billing but has no second factor: the organization's policy applies
    # to its billing as to its own routes.
    blocked = await client.get("/api/v1/billing/subscription", params=as_org, headers=alice)
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "org_mfa_required"
    checkout = await client.post(
        "/api/v1/billing/create-checkout-session",
        params=as_org,
        json={"plan": "pro"},
        headers=alice,
    )
    assert checkout.status_code == 403
    assert billing.fake.objects("checkout_sessions") == []
    spec = (await client.get("/openapi.json")).json()["paths"]
    assert "403" in spec["/api/v1/billing/subscription"]["get"]["responses"]
    assert "403" in spec["/api/v1/billing/create-checkout-session"]["post"]["responses"]
    # Her own billing is not the organization's.
    assert (await client.get("/api/v1/billing/subscription", headers=alice)).status_code == 200

"""Deleting an organization cancels its subscription in Stripe at once, then deletes it;
when Stripe cannot be reached nothing is deleted and calling again is safe."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from saaskit.testing._stripe_objects import StripeFailure
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from saaskit.types import Owner
from tests.billing.helpers import Billing
from tests.helpers import KitFactory
from tests.orgs.billing_helpers import org_billing, remote, rows, subscribe_org
from tests.orgs.helpers import ORGS, join, new_org, verified


@pytest.fixture
async def billing(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Billing]:
    billing = await org_billing(make_kit, fake_stripe, monkeypatch)
    async with billing.client:
        yield billing


async def test_delete_cancels_the_subscription_at_once_and_says_so(billing: Billing) -> None:
    kit, client, fake = billing.kit, billing.client, billing.fake
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    subscription = await subscribe_org(billing, alice, org)
    assert remote(fake, subscription)["status"] == "active"

    deleted = await client.delete(f"{ORGS}/{org}", headers=alice)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"id": org, "subscription_canceled": True}

    # Canceled in Stripe now (not at the period's end), with the key saaskit sent.
    sub = remote(fake, subscription)
    assert sub["status"] == "canceled"
    assert sub["ended_at"] is not None
    cancels = fake.calls("DELETE", f"/v1/subscriptions/{subscription}")
    assert [c.idempotency_key for c in cancels] == [f"saaskit-cancel-{subscription}"]
    assert (await client.get(f"{ORGS}/{org}", headers=alice)).status_code == 404

    # The audit event says so; the local record is canceled and belongs to no one now
    # (an organization given the same id later inherits neither it nor the customer).
    events, _ = await kit.orgs.events(org, 10, 0)
    assert events[0].action == "org_deleted"
    assert events[0].detail["subscription_canceled"] is True
    assert events[0].detail["subscriptions"] == [subscription]
    assert await kit.plans.current(Owner("organization", org)) is None
    (row,) = await rows(kit, kit.plans.model)
    assert (row.status, row.owner_kind, row.owner_id) == ("canceled", None, None)
    assert await kit.billing.customers.customer_id(Owner("organization", org)) is None

    # The customer.subscription.deleted webhook that follows is taken in stride.
    assert any(e["type"] == "customer.subscription.deleted" for e in fake.objects("events"))
    await billing.deliver()
    (row,) = await rows(kit, kit.plans.model)
    assert (row.status, row.owner_kind, row.owner_id) == ("canceled", None, None)


async def test_delete_without_a_subscription_asks_stripe_to_cancel_nothing(
    billing: Billing,
) -> None:
    kit, client, fake = billing.kit, billing.client, billing.fake
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    deleted = await client.delete(f"{ORGS}/{org}", headers=alice)
    assert deleted.status_code == 200
    assert deleted.json() == {"id": org, "subscription_canceled": False}
    assert not [r for r in fake.requests if r.method == "DELETE"]
    events, _ = await kit.orgs.events(org, 10, 0)
    assert events[0].detail["subscription_canceled"] is False


async def test_only_owners_delete_and_a_refusal_cancels_nothing(billing: Billing) -> None:
    kit, client, fake = billing.kit, billing.client, billing.fake
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    admin = await join(kit, client, org, alice, "bob@example.com", role="admin")
    subscription = await subscribe_org(billing, alice, org)
    refused = await client.delete(f"{ORGS}/{org}", headers=admin)
    assert refused.status_code == 403
    assert remote(fake, subscription)["status"] == "active"
    assert not fake.calls("DELETE", f"/v1/subscriptions/{subscription}")


async def test_stripe_down_during_delete_deletes_nothing_and_a_retry_finishes(
    billing: Billing,
) -> None:
    kit, client, fake = billing.kit, billing.client, billing.fake
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    bob = await join(kit, client, org, alice, "bob@example.com")
    subscription = await subscribe_org(billing, alice, org)

    fake.fail_next(500, method="DELETE", path=f"/v1/subscriptions/{subscription}")
    down = await client.delete(f"{ORGS}/{org}", headers=alice)
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "billing_unavailable"
    # Nothing deleted: the organization, its members and its subscription are all there.
    assert (await client.get(f"{ORGS}/{org}", headers=bob)).status_code == 200
    members = await client.get(f"{ORGS}/{org}/members", headers=alice)
    assert members.json()["total"] == 2
    assert remote(fake, subscription)["status"] == "active"
    plan = await kit.plans.for_owner(Owner("organization", org))
    assert plan.key == "pro"
    assert await kit.billing.customers.customer_id(Owner("organization", org)) is not None

    # Stripe unreachable before anything was asked (the listing fails): same answer.
    fake.fail_next(503, method="GET", path="/v1/subscriptions")
    assert (await client.delete(f"{ORGS}/{org}", headers=alice)).status_code == 503
    assert (await client.get(f"{ORGS}/{org}", headers=bob)).status_code == 200

    retried = await client.delete(f"{ORGS}/{org}", headers=alice)
    assert retried.status_code == 200
    assert retried.json() == {"id": org, "subscription_canceled": True}
    assert remote(fake, subscription)["status"] == "canceled"
    assert (await client.get(f"{ORGS}/{org}", headers=bob)).status_code == 404


async def test_canceled_but_not_deleted_then_a_retry_reports_the_cancellation(
    billing: Billing,
) -> None:
    """Stripe canceled, then failed before saaskit recorded it: the organization stays,
    and the retry finds the subscription already canceled, deletes and says canceled."""
    kit, client, fake = billing.kit, billing.client, billing.fake
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    subscription = await subscribe_org(billing, alice, org)

    # The cancel succeeds; re-reading the subscription afterwards fails.
    fake.fail_next(500, method="GET", path=f"/v1/subscriptions/{subscription}")
    failed = await client.delete(f"{ORGS}/{org}", headers=alice)
    assert failed.status_code == 503
    assert remote(fake, subscription)["status"] == "canceled"
    assert (await client.get(f"{ORGS}/{org}", headers=alice)).status_code == 200

    retried = await client.delete(f"{ORGS}/{org}", headers=alice)
    assert retried.status_code == 200, retried.text
    assert retried.json() == {"id": org, "subscription_canceled": True}
    assert len(fake.calls("DELETE", f"/v1/subscriptions/{subscription}")) == 2
    (row,) = await rows(kit, kit.plans.model)
    assert row.status == "canceled"


async def test_a_subscription_no_webhook_told_of_yet_is_canceled_too(billing: Billing) -> None:
    kit, client, fake = billing.kit, billing.client, billing.fake
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    response = await client.post(
        "/api/v1/billing/create-checkout-session",
        params={"owner": f"organization:{org}"},
        json={"plan": "pro"},
        headers=alice,
    )
    subscription = fake.complete_checkout(response.json()["id"])["id"]  # no webhook yet
    assert await kit.plans.current(Owner("organization", org)) is None
    deleted = await client.delete(f"{ORGS}/{org}", headers=alice)
    assert deleted.json() == {"id": org, "subscription_canceled": True}
    assert remote(fake, subscription)["status"] == "canceled"


async def test_an_open_checkout_cannot_start_a_subscription_after_the_delete(
    billing: Billing,
) -> None:
    """A checkout opened before the deletion and paid after it would bill a deleted
    organization: its session is expired first."""
    kit, client, fake = billing.kit, billing.client, billing.fake
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    opened = await client.post(
        "/api/v1/billing/create-checkout-session",
        params={"owner": f"organization:{org}"},
        json={"plan": "pro"},
        headers=alice,
    )
    session = opened.json()["id"]
    deleted = await client.delete(f"{ORGS}/{org}", headers=alice)
    assert deleted.json() == {"id": org, "subscription_canceled": False}
    (found,) = [s for s in fake.objects("checkout_sessions") if s["id"] == session]
    assert found["status"] == "expired"
    with pytest.raises(StripeFailure):
        fake.complete_checkout(session)
    assert not [s for s in fake.objects("subscriptions") if s["status"] != "canceled"]
    assert any(e["type"] == "checkout.session.expired" for e in fake.objects("events"))
    await billing.deliver()  # the expired session's event is taken in stride


class _NoCancel:
    """A payment gateway that cannot cancel (a host's own, written before it could)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        if name in ("cancel_subscription", "expire_open_checkouts"):
            raise AttributeError(name)
        return getattr(self.inner, name)


async def test_a_gateway_that_cannot_cancel_keeps_the_409(billing: Billing) -> None:
    kit, client, fake = billing.kit, billing.client, billing.fake
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    subscription = await subscribe_org(billing, alice, org)
    kit.billing.gateway = _NoCancel(kit.billing.gateway)  # type: ignore[assignment]
    kept = await client.delete(f"{ORGS}/{org}", headers=alice)
    assert kept.status_code == 409
    assert kept.json()["error"]["code"] == "organization_has_subscription"
    assert remote(fake, subscription)["status"] == "active"
    assert (await client.get(f"{ORGS}/{org}", headers=alice)).status_code == 200
    # Without a subscription, it deletes.
    other = await new_org(client, alice, "Other")
    assert (await client.delete(f"{ORGS}/{other}", headers=alice)).status_code == 200

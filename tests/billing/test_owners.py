"""Billing owners: a user bills for itself, other owners only through their kind's rules,
and owners of different kinds with the same id never share a customer, a key or a plan."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Header
from sqlalchemy import select

from saaskit.billing.owners import OwnerProfile
from saaskit.billing.plans import UserPlan
from saaskit.billing.types import CheckoutRequest
from saaskit.models import BillingCustomer, Subscription, User
from saaskit.owners import Owner
from tests.billing.helpers import Billing
from tests.helpers import build_app, register

CHECKOUT = "/api/v1/billing/create-checkout-session"
ORG = Owner("organization", 1)


@dataclass
class Organizations:
    """A stand-in for the organizations feature: org 1, managed by its members."""

    members: dict[int, set[int]] = field(default_factory=lambda: {1: set()})

    async def profile(self, owner_id: int, /) -> OwnerProfile | None:
        if owner_id not in self.members:
            return None
        created = datetime(2026, 1, 1, tzinfo=UTC)
        return OwnerProfile(email=f"billing+{owner_id}@acme.test", name="Acme", created_at=created)

    async def can_manage(self, user: Any, owner_id: int, /) -> bool:
        return user.id in self.members.get(owner_id, set())


def client_for_app(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def error_code(response: Any) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_a_user_cannot_check_out_or_read_billing_for_another_user(billing: Billing) -> None:
    alice = await billing.signup("alice@example.com")
    await billing.signup("bob@example.com")
    bob = await billing.user("bob@example.com")
    customers_before = billing.fake.customers()
    other = {"owner": f"user:{bob.id}"}

    responses = [
        await billing.client.post(CHECKOUT, params=other, json={"plan": "pro"}, headers=alice),
        await billing.client.get("/api/v1/billing/customer-portal", params=other, headers=alice),
        await billing.client.get("/api/v1/billing/subscription", params=other, headers=alice),
        await billing.client.post("/api/v1/billing/sync", params=other, headers=alice),
    ]

    assert [(r.status_code, error_code(r)) for r in responses] == [(404, "not_found")] * 4
    assert billing.fake.calls("POST", "/v1/checkout/sessions") == []
    assert billing.fake.calls("POST", "/v1/billing_portal/sessions") == []
    assert billing.fake.customers() == customers_before


@pytest.mark.parametrize(
    "owner", ["organization:1", "organization:999", "admin:1", "user:abc", "user:-1", "user:"]
)
async def test_an_owner_the_kit_cannot_authorize_is_a_plain_404(
    billing: Billing, owner: str
) -> None:
    alice = await billing.signup()
    response = await billing.client.post(
        CHECKOUT, params={"owner": owner}, json={"plan": "pro"}, headers=alice
    )
    assert (response.status_code, error_code(response)) == (404, "not_found")
    assert billing.fake.calls("POST", "/v1/checkout/sessions") == []


async def test_naming_yourself_as_owner_is_the_same_as_naming_no_owner(billing: Billing) -> None:
    alice = await billing.signup()
    user = await billing.user()
    response = await billing.client.post(
        CHECKOUT, params={"owner": f"user:{user.id}"}, json={"plan": "pro"}, headers=alice
    )
    assert response.status_code == 200, response.text


async def test_an_organization_is_billed_by_its_members_apart_from_a_user_with_its_id(
    billing: Billing,
) -> None:
    orgs = Organizations()
    billing.kit.billing.owners.register("organization", orgs)
    alice_headers = await billing.signup("alice@example.com")
    bob_headers = await billing.signup("bob@example.com")
    alice = await billing.user("alice@example.com")
    assert alice.id == ORG.id  # the collision this test is about
    orgs.members[1].add(alice.id)
    as_org = {"owner": str(ORG)}

    # Bob is no member: nothing about the organization, not even whether it exists.
    refused = await billing.client.get(
        "/api/v1/billing/subscription", params=as_org, headers=bob_headers
    )
    assert (refused.status_code, error_code(refused)) == (404, "not_found")

    session = await billing.checkout_for(alice_headers, as_org, "team")
    billing.fake.complete_checkout(session)
    await billing.deliver()

    org_status = await billing.client.get(
        "/api/v1/billing/subscription", params=as_org, headers=alice_headers
    )
    assert org_status.json()["plan"] == "team"
    assert (await billing.status(alice_headers))["plan"] != "team"  # user 1 is not org 1
    assert (await billing.kit.plans.for_owner(ORG)).key == "team"
    assert (await billing.kit.plans.for_user(alice.id)).key != "team"

    # One customer each, with keys and metadata that say which kind of owner it is.
    by_metadata = {tuple(sorted(c["metadata"].items())): c for c in billing.fake.customers()}
    assert (("owner_id", "1"), ("owner_kind", "organization")) in by_metadata
    assert (("user_id", str(alice.id)),) in by_metadata
    keys = [call.idempotency_key or "" for call in billing.fake.calls("POST", "/v1/customers")]
    assert any(key.startswith("saaskit-customer-organization-1-") for key in keys)
    assert any(key.startswith(f"saaskit-customer-{alice.id}-") for key in keys)
    (row,) = await billing.rows(Subscription)
    assert (row.owner_kind, row.owner_id, row.user_id) == ("organization", 1, None)
    checkout = billing.fake.calls("POST", "/v1/checkout/sessions")[-1].params
    assert checkout["client_reference_id"] == "organization:1"


async def test_a_webhook_for_a_customer_of_no_known_owner_is_stored_and_ignored(
    billing: Billing,
) -> None:
    gateway = billing.kit.billing.gateway
    stranger = Owner("organization", 42)  # a kind this kit does not know
    customer = await gateway.create_customer(
        email="x@example.com", name=None, owner=stranger, idempotency_key="by-hand-1"
    )
    price = billing.fake.objects("prices")[1]["id"]
    session = await gateway.create_checkout_session(
        CheckoutRequest(
            customer_id=customer,
            price_id=price,
            quantity=1,
            success_url="http://localhost:3000/ok",
            cancel_url="http://localhost:3000/no",
            user_id=None,
            plan="pro",
            owner=stranger,
        )
    )
    billing.fake.complete_checkout(session.id)

    responses = await billing.deliver()  # every delivery answered 200

    assert {r.json()["status"] for r in responses} == {"processed"}
    (row,) = await billing.rows(Subscription)
    assert (row.stripe_customer_id, row.owner_id, row.user_id) == (customer, None, None)
    assert await billing.rows(BillingCustomer) == []


async def test_customers_live_in_billing_customers_and_are_mirrored_on_the_user(
    billing: Billing,
) -> None:
    await billing.signup()
    user = await billing.user()
    (row,) = await billing.rows(BillingCustomer)
    assert (row.owner_kind, row.owner_id) == ("user", user.id)
    assert row.stripe_customer_id == user.stripe_customer_id
    assert await billing.kit.billing.customers.customer_id(Owner.user(user.id)) == (
        user.stripe_customer_id
    )


async def test_a_customer_only_on_the_user_row_is_adopted_not_created_again(
    billing: Billing,
) -> None:
    """What an older instance wrote during a rolling deploy (or before the migration)."""
    headers = await billing.signup()
    user = await billing.user()
    async with billing.kit.session_factory() as db:
        (link,) = (await db.scalars(select(BillingCustomer))).all()
        await db.delete(link)
        await db.commit()
    await billing.checkout(headers, "pro")
    assert len(billing.fake.customers()) == 1
    (row,) = await billing.rows(BillingCustomer)
    assert row.stripe_customer_id == user.stripe_customer_id


async def test_registration_queues_the_customer_through_a_kit_listener_not_a_host_hook(
    billing: Billing,
) -> None:
    assert billing.kit.hooks.after_register == []  # the host's list is the host's
    billing.kit.hooks.after_register.clear()  # so clearing it cannot switch billing off
    await billing.signup()
    user = await billing.user()  # after the queued task ran
    assert [c["id"] for c in billing.fake.customers()] == [user.stripe_customer_id]


async def test_a_deleted_users_customer_link_is_dropped(billing: Billing) -> None:
    headers = await billing.signup()
    await billing.user()
    assert (await billing.client.delete("/api/v1/users/me", headers=headers)).status_code == 204
    assert await billing.rows(BillingCustomer) == []


async def test_ensure_with_a_bare_user_id_still_works_but_is_deprecated(billing: Billing) -> None:
    await register(billing.client)
    user = await billing.user()
    with pytest.warns(DeprecationWarning, match=r"Owner\.user"):
        customer = await billing.kit.billing.customers.ensure(user.id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert await billing.kit.billing.customers.ensure(Owner.user(user.id)) == customer


async def test_plan_gates_work_for_an_organization_owner(billing: Billing) -> None:
    orgs = Organizations()
    billing.kit.billing.owners.register("organization", orgs)
    kit = billing.kit

    async def current_org(
        x_organization: str = Header(), user: User = Depends(kit.current_active_user)
    ) -> Owner:
        return await kit.billing.owner_for(user, Owner.parse(f"organization:{x_organization}"))

    org_gates = kit.gates.for_owner(current_org)
    app = build_app(kit)

    @app.get("/org-reports")
    async def org_reports(plan: UserPlan = Depends(org_gates.require_plan("team"))) -> str:
        return str(plan.key)

    headers = await billing.signup()
    orgs.members[1].add((await billing.user()).id)
    async with client_for_app(app) as client:
        before = await client.get("/org-reports", headers={**headers, "X-Organization": "1"})
        assert (before.status_code, error_code(before)) == (402, "subscription_required")
        billing.fake.complete_checkout(
            await billing.checkout_for(headers, {"owner": "organization:1"}, "team")
        )
        await billing.deliver()
        after = await client.get("/org-reports", headers={**headers, "X-Organization": "1"})
        assert (after.status_code, after.json()) == (200, "team")
        other = await client.get("/org-reports", headers={**headers, "X-Organization": "2"})
        assert (other.status_code, error_code(other)) == (404, "not_found")
    # The user's own plan is untouched by the organization's subscription.
    assert (await billing.kit.plans.for_user((await billing.user()).id)).key != "team"

"""One Stripe customer per user: at registration, lazily, and under concurrency."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from saaskit.email import MemorySender
from saaskit.models import Subscription
from saaskit.owners import Owner
from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import Billing, add_prices, billing_settings
from tests.helpers import GUARD_SECONDS, KitFactory, bearer, client_for, login, register

CHECKOUT = "/api/v1/billing/create-checkout-session"


async def test_stripe_unreachable_at_registration(
    billing: Billing, caplog: pytest.LogCaptureFixture
) -> None:
    billing.fake.fail_next(disconnect=True, path="/v1/customers")
    with caplog.at_level(logging.WARNING, logger="saaskit.billing"):
        response = await register(billing.client)
    assert response.status_code == 201
    assert billing.fake.customers() == []
    assert (await billing.user()).stripe_customer_id is None
    assert "created at the first billing action" in caplog.text
    assert billing.fake.api_key not in caplog.text

    headers = bearer((await login(billing.client))["access_token"])
    await billing.checkout(headers, "pro")
    customers = billing.fake.customers()
    assert len(customers) == 1
    assert (await billing.user()).stripe_customer_id == customers[0]["id"]


async def test_stripe_error_at_registration_does_not_fail_it(billing: Billing) -> None:
    billing.fake.fail_next(500, path="/v1/customers")
    assert (await register(billing.client)).status_code == 201
    assert billing.fake.customers() == []


async def test_concurrent_billing_actions_create_one_customer(
    make_kit: KitFactory, fake_stripe: FakeStripe
) -> None:
    add_prices(fake_stripe)
    kit = await make_kit(billing=billing_settings(fake_stripe, create_customer_on_register=False))
    async with client_for(kit) as client:
        billing = Billing(kit, client, fake_stripe)
        headers = await billing.signup()
        assert fake_stripe.customers() == []
        responses = await asyncio.gather(
            *[client.get("/api/v1/billing/customer-portal", headers=headers) for _ in range(4)],
            *[client.post(CHECKOUT, json={"plan": "pro"}, headers=headers) for _ in range(4)],
        )
        assert {r.status_code for r in responses} == {200}
        customers = fake_stripe.customers()
        assert len(customers) == 1
        assert (await billing.user()).stripe_customer_id == customers[0]["id"]
        assert len(fake_stripe.calls("POST", "/v1/customers")) == 1


async def test_idempotency_key_collapses_retries_without_the_lock(billing: Billing) -> None:
    """Even if two processes skip each other's lock, Stripe replays one customer."""
    user_id = (await register(billing.client)).json()["id"]
    customers = billing.kit.billing.customers
    user = await billing.user()
    key = await customers.idempotency_key(user)
    first, second = await asyncio.gather(
        *[
            billing.kit.billing.gateway.create_customer(
                email=user.email, name=user.full_name, user_id=user_id, idempotency_key=key
            )
            for _ in range(2)
        ]
    )
    assert first == second == user.stripe_customer_id
    assert len(billing.fake.customers()) == 1


async def test_customer_is_not_created_at_registration_when_disabled(
    make_kit: KitFactory, fake_stripe: FakeStripe
) -> None:
    kit = await make_kit(billing=billing_settings(fake_stripe, create_customer_on_register=False))
    async with client_for(kit) as client:
        assert (await register(client)).status_code == 201
    assert fake_stripe.customers() == []


async def test_customer_id_is_refreshed_in_the_user_cache(billing: Billing) -> None:
    billing.fake.fail_next(500, path="/v1/customers")
    headers = await billing.signup()
    me = await billing.client.get("/api/v1/users/me", headers=headers)
    assert me.status_code == 200
    await billing.client.get("/api/v1/billing/customer-portal", headers=headers)
    user = await billing.user()
    assert user.stripe_customer_id is not None
    cached = await billing.kit.users.cache.get(user.id)
    assert cached is None or cached.stripe_customer_id == user.stripe_customer_id


async def test_slow_stripe_does_not_hold_up_registration(
    make_kit: KitFactory, fake_stripe: FakeStripe
) -> None:
    add_prices(fake_stripe)
    kit = await make_kit(billing=billing_settings(fake_stripe, timeout_seconds=0.3))
    # Stripe would answer after ten minutes; the 0.3 s timeout must cut it off. A
    # registration that waited for Stripe runs into the guard (no bound on speed).
    fake_stripe.fail_next(500, path="/v1/customers", delay=600.0)
    async with client_for(kit) as client:
        async with asyncio.timeout(GUARD_SECONDS):
            assert (await register(client)).status_code == 201
        billing = Billing(kit, client, fake_stripe)
        assert (await billing.user()).stripe_customer_id is None
        headers = bearer((await login(client))["access_token"])
        await billing.checkout(headers, "pro")
    assert len(fake_stripe.customers()) == 1


async def test_deleting_a_user_keeps_their_subscription_record(billing: Billing) -> None:
    headers = await billing.signup()
    subscription = await billing.subscribe(headers, "pro")
    assert (await billing.client.delete("/api/v1/users/me", headers=headers)).status_code == 204
    (row,) = await billing.rows(Subscription)
    assert (row.stripe_subscription_id, row.user_id, row.status) == (subscription, None, "active")
    billing.fake.cancel_subscription(subscription)
    await billing.deliver()  # still followed, without a user
    (row,) = await billing.rows(Subscription)
    assert (row.user_id, row.status) == (None, "canceled")


async def test_a_confirmed_email_change_reaches_the_stripe_customer(billing: Billing) -> None:
    outbox = MemorySender()
    billing.kit.mailer.sender = outbox
    headers = await billing.signup()
    user = await billing.user()  # its customer is created by the queued task
    customer_id = await billing.kit.billing.customers.customer_id(Owner.user(user.id))
    assert customer_id is not None
    new = "alice@new.example"

    asked = await billing.client.post(
        "/api/v1/users/me/email", json={"email": new}, headers=headers
    )
    assert asked.status_code == 202, asked.text
    await billing.kit.runner.drain()
    token = parse_qs(urlsplit(outbox.links(outbox.last_to(new))[0]).query)["token"][0]
    confirmed = await billing.client.post(
        "/api/v1/auth/confirm-email-change", json={"token": token}
    )
    assert confirmed.status_code == 200, confirmed.text
    await billing.kit.runner.drain()

    (customer,) = [c for c in billing.fake.objects("customers") if c["id"] == customer_id]
    assert customer["email"] == new
    (update,) = billing.fake.calls("POST", f"/v1/customers/{customer_id}")
    assert update.params == {"email": new}

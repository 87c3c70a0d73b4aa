"""Event handling details, driven through the webhook service directly."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from saaskit.billing.types import PaymentFailure
from saaskit.models import Subscription, User, WebhookEvent
from tests.billing.helpers import Billing


def event(kind: str, obj: dict[str, Any], event_id: str = "evt_manual") -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": obj},
    }


async def test_invoice_events_of_older_api_versions(billing: Billing) -> None:
    headers = await billing.signup()
    subscription = await billing.subscribe(headers, "pro")
    customer = (await billing.user()).stripe_customer_id
    billing.fake.change_subscription(subscription, quantity=2)
    billing.fake.take_events()
    webhooks = billing.kit.billing.webhooks
    # Before 2025-03-31 an invoice named its subscription at the top level.
    await webhooks.handle(
        event("invoice.paid", {"id": "in_1", "customer": customer, "subscription": subscription})
    )
    (row,) = await billing.rows(Subscription)
    assert row.quantity == 2


async def test_payment_failed_without_a_subscription_resyncs_the_customer(
    billing: Billing,
) -> None:
    failures: list[PaymentFailure] = []

    @billing.kit.hooks.on_payment_failed
    async def failed(user: User, failure: PaymentFailure) -> None:
        failures.append(failure)

    headers = await billing.signup()
    await billing.subscribe(headers, "pro")
    customer = (await billing.user()).stripe_customer_id
    assert customer
    await billing.kit.billing.webhooks.handle(
        event(
            "invoice.payment_failed",
            {"id": "in_2", "customer": customer, "amount_due": 700, "currency": "usd"},
        )
    )
    (failure,) = failures
    assert (failure.subscription_id, failure.amount_due, failure.customer_id) == (
        None,
        700,
        customer,
    )
    assert failure.next_payment_attempt is None


async def test_events_that_change_nothing(billing: Billing) -> None:
    headers = await billing.signup()
    customer = (await billing.user()).stripe_customer_id
    webhooks = billing.kit.billing.webhooks
    # A one-time payment checkout has no subscription.
    await webhooks.handle(event("checkout.session.completed", {"id": "cs_1", "mode": "payment"}))
    # customer.deleted for a customer Stripe still has (a forged or stale event).
    await webhooks.handle(event("customer.deleted", {"id": customer}))
    assert (await billing.user()).stripe_customer_id == customer
    # A subscription Stripe does not know.
    await webhooks.handle(event("customer.subscription.updated", {"id": "sub_unknown"}))
    assert await billing.rows(Subscription) == []
    assert (await billing.status(headers))["plan"] == "free"


async def test_a_subscription_gone_from_stripe_is_ended_when_its_customer_is(
    billing: Billing,
) -> None:
    headers = await billing.signup()
    subscription = await billing.subscribe(headers, "pro")
    customer = (await billing.user()).stripe_customer_id
    assert customer
    with billing.fake.state.lock:  # Stripe removed it entirely (test-mode data deletion)
        del billing.fake.state.collections["subscriptions"][subscription]
        billing.fake.state.collections["customers"][customer]["deleted"] = True
    await billing.kit.billing.webhooks.handle(event("customer.deleted", {"id": customer}))
    (row,) = await billing.rows(Subscription)
    assert row.status == "canceled"
    assert row.ended_at is not None
    assert (await billing.user()).stripe_customer_id is None


async def test_interrupted_events_are_replayed(billing: Billing) -> None:
    headers = await billing.signup()
    billing.fake.complete_checkout(await billing.checkout(headers))
    completed = [e for e in billing.fake.take_events() if e["type"].startswith("checkout.")]
    async with billing.kit.session_factory() as db:
        interrupted: dict[str, Any] = {
            "stripe_event_id": completed[0]["id"],
            "type": completed[0]["type"],
            "status": "received",  # the process died while handling it
            "attempts": 1,
            "payload": completed[0],
            "created_at": datetime.now(UTC) - timedelta(minutes=11),
        }
        in_flight: dict[str, Any] = {
            "stripe_event_id": "evt_in_flight",
            "type": "invoice.paid",
            "status": "received",  # recent: maybe still being handled elsewhere
            "attempts": 0,
            "payload": event("invoice.paid", {"id": "in_3"}, "evt_in_flight"),
        }
        db.add(WebhookEvent(**interrupted))
        db.add(WebhookEvent(**in_flight))
        await db.commit()
    assert await billing.kit.billing.webhooks.replay_failed() == (1, 0)
    assert (await billing.status(headers))["plan"] == "pro"
    statuses = {row.stripe_event_id: row.status for row in await billing.rows(WebhookEvent)}
    assert statuses == {completed[0]["id"]: "processed", "evt_in_flight": "received"}


async def test_an_event_being_processed_elsewhere_is_not_processed_twice(
    billing: Billing,
) -> None:
    await billing.signup()
    body = event("customer.updated", {"id": "cus_1"}, "evt_busy")
    webhooks = billing.kit.billing.webhooks
    raw = json.dumps(body).encode()
    event_id, _, pending = await webhooks.record(raw, billing.fake.sign(raw))
    assert pending
    assert await billing.kit.store.claim(f"billing:event-lock:{event_id}", 60)
    assert await webhooks.process(event_id) is False
    (row,) = await billing.rows(WebhookEvent)
    assert (row.status, row.attempts) == ("received", 0)

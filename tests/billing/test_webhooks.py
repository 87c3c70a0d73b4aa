"""POST /billing/webhook: signatures, recording, duplicates, order, failures, hooks."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from saaskit.billing.types import PaymentFailure, SubscriptionState
from saaskit.billing.webhooks import key_mode
from saaskit.models import Subscription, User, WebhookEvent
from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import Billing, add_prices, billing_settings, gated_app
from tests.helpers import KitFactory, client_for

WEBHOOK = "/api/v1/billing/webhook"


def event_body() -> bytes:
    return json.dumps(
        {
            "id": "evt_test_1",
            "object": "event",
            "type": "customer.subscription.updated",
            "created": int(time.time()),
            "data": {"object": {"id": "sub_missing", "object": "subscription"}},
        }
    ).encode()


async def post(billing: Billing, body: bytes, signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return await billing.client.post(WEBHOOK, content=body, headers=headers)


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(None, id="missing"),
        pytest.param("t=1,v1=deadbeef", id="garbage"),
        pytest.param("nonsense", id="malformed"),
    ],
)
async def test_bad_signature_is_400_and_writes_nothing(
    billing: Billing, signature: str | None
) -> None:
    response = await post(billing, event_body(), signature)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert await billing.rows(WebhookEvent) == []


async def test_signature_with_another_secret_is_refused(billing: Billing) -> None:
    body = event_body()
    signature = billing.fake.sign(body, secret="whsec_someone_else")
    response = await post(billing, body, signature)
    assert response.status_code == 400
    assert await billing.rows(WebhookEvent) == []


async def test_stale_signature_is_refused(billing: Billing) -> None:
    body = event_body()
    stale = billing.fake.sign(body, timestamp=int(time.time()) - 301)
    response = await post(billing, body, stale)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert await billing.rows(WebhookEvent) == []
    recent = billing.fake.sign(body, timestamp=int(time.time()) - 200)
    assert (await post(billing, body, recent)).status_code == 200


async def test_tampered_body_is_refused(billing: Billing) -> None:
    body = event_body()
    signature = billing.fake.sign(body)
    response = await post(billing, body.replace(b"sub_missing", b"sub_other"), signature)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"object": "event", "id": "evt_1"}', b'{"id": 1, "type": "x"}'],
)
async def test_signed_garbage_is_invalid_webhook(billing: Billing, body: bytes) -> None:
    response = await post(billing, body, billing.fake.sign(body))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_webhook"
    assert await billing.rows(WebhookEvent) == []


async def test_unknown_event_types_are_recorded_and_ignored(billing: Billing) -> None:
    body = json.dumps(
        {
            "id": "evt_other",
            "object": "event",
            "type": "payment_intent.created",
            "created": int(time.time()),
            "data": {"object": {"id": "pi_1"}},
        }
    ).encode()
    response = await post(billing, body, billing.fake.sign(body))
    assert response.status_code == 200
    assert response.json()["status"] == "processed"
    (row,) = await billing.rows(WebhookEvent)
    assert (row.type, row.status, row.attempts) == ("payment_intent.created", "processed", 1)


async def test_duplicate_event_is_a_no_op(billing: Billing) -> None:
    headers = await billing.signup()
    billing.fake.complete_checkout(await billing.checkout(headers))
    events = billing.fake.take_events()
    first = await billing.deliver(events=events)
    again = await billing.deliver(events=events)
    assert {r.json()["status"] for r in first} == {"processed"}
    assert {r.json()["status"] for r in again} == {"duplicate"}
    rows = await billing.rows(WebhookEvent)
    assert len(rows) == len(events)
    assert {(row.status, row.attempts) for row in rows} == {("processed", 1)}
    assert all(row.processed_at is not None for row in rows)


def _final(rows: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            r.stripe_subscription_id,
            r.user_id,
            r.plan,
            r.status,
            r.quantity,
            r.cancel_at_period_end,
            r.ended_at is not None,
        )
        for r in sorted(rows, key=lambda r: r.stripe_subscription_id)
    ]


async def test_shuffled_and_duplicated_events_give_the_in_order_state(billing: Billing) -> None:
    fake = billing.fake
    alice = await billing.signup("alice@example.com")
    bob = await billing.signup("bob@example.com")
    sub_a = fake.complete_checkout(await billing.checkout(alice, "pro"))["id"]
    sub_b = fake.complete_checkout(await billing.checkout(bob, "basic"))["id"]
    fake.change_subscription(sub_a, price="team_monthly", quantity=3)
    fake.fail_payment(sub_b)
    fake.renew(sub_b)
    fake.change_subscription(sub_a, cancel_at_period_end=True)
    fake.cancel_subscription(sub_b)
    events = fake.take_events()

    await billing.deliver(events=events)
    in_order = _final(await billing.rows(Subscription))
    assert {row[0]: row[2:6] for row in in_order} == {
        sub_a: ("team", "active", 3, True),
        sub_b: ("basic", "canceled", 1, False),
    }

    async with billing.kit.session_factory() as db:
        for row in await billing.rows(Subscription):
            await db.delete(await db.merge(row))
        for row in await billing.rows(WebhookEvent):
            await db.delete(await db.merge(row))
        await db.commit()
    assert await billing.rows(Subscription) == []

    await billing.deliver(events=events, shuffle=True, duplicate=True, seed=7)
    assert _final(await billing.rows(Subscription)) == in_order
    assert len(await billing.rows(WebhookEvent)) == len(events)


async def test_event_time_is_kept_and_only_moves_forward(billing: Billing) -> None:
    headers = await billing.signup()
    billing.fake.complete_checkout(await billing.checkout(headers))
    events = billing.fake.take_events()
    newest = max(e["created"] for e in events)
    await billing.deliver(events=list(reversed(events)))
    (row,) = await billing.rows(Subscription)
    assert row.updated_from_event_at is not None
    assert int(row.updated_from_event_at.timestamp()) == newest


async def test_processing_failure_is_recorded_answered_503_then_retried(billing: Billing) -> None:
    headers = await billing.signup()
    billing.fake.complete_checkout(await billing.checkout(headers))
    events = [e for e in billing.fake.take_events() if e["type"] == "checkout.session.completed"]
    billing.fake.fail_next(500, path="/v1/subscriptions/")
    (failed,) = await billing.fake.deliver(billing.client, events=events)
    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "billing_unavailable"
    (row,) = await billing.rows(WebhookEvent)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "BillingUnavailable" in (row.last_error or "")
    assert await billing.rows(Subscription) == []

    (retried,) = await billing.deliver(events=events)  # Stripe's retry, same event id
    assert retried.json()["status"] == "processed"
    (row,) = await billing.rows(WebhookEvent)
    assert (row.status, row.attempts, row.last_error) == ("processed", 2, None)
    assert len(await billing.rows(Subscription)) == 1


async def test_unexpected_failure_is_500_webhook_failed(billing: Billing) -> None:
    async def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    billing.kit.billing.webhooks.handle = broken  # type: ignore[method-assign]
    headers = await billing.signup()
    billing.fake.complete_checkout(await billing.checkout(headers))
    responses = await billing.fake.deliver(billing.client)
    assert {r.status_code for r in responses} == {500}
    assert {r.json()["error"]["code"] for r in responses} == {"webhook_failed"}
    rows = await billing.rows(WebhookEvent)
    assert {(r.status, r.last_error) for r in rows} == {("failed", "RuntimeError: boom")}


async def test_replay_failed_processes_failed_events(billing: Billing) -> None:
    headers = await billing.signup()
    billing.fake.complete_checkout(await billing.checkout(headers))
    billing.fake.fail_next(503, path="/v1/subscriptions/", times=10)
    responses = await billing.fake.deliver(billing.client)
    assert {r.status_code for r in responses} == {200, 503}
    failed = [r for r in await billing.rows(WebhookEvent) if r.status == "failed"]
    assert failed
    assert await billing.rows(Subscription) == []
    billing.fake.clear_failures()

    processed, still_failing = await billing.kit.billing.webhooks.replay_failed()
    assert (processed, still_failing) == (len(failed), 0)
    assert {r.status for r in await billing.rows(WebhookEvent)} == {"processed"}
    assert (await billing.status(headers))["plan"] == "pro"
    assert await billing.kit.billing.webhooks.replay_failed() == (0, 0)


async def test_hooks_run_once_per_change(billing: Billing) -> None:
    changes: list[tuple[int, SubscriptionState]] = []
    failures: list[tuple[int, PaymentFailure]] = []

    @billing.kit.hooks.on_subscription_changed
    async def changed(user: User, state: SubscriptionState) -> None:
        changes.append((user.id, state))

    @billing.kit.hooks.on_payment_failed
    async def payment_failed(user: User, failure: PaymentFailure) -> None:
        failures.append((user.id, failure))

    headers = await billing.signup()
    user = await billing.user()
    subscription = billing.fake.complete_checkout(await billing.checkout(headers))
    await billing.deliver(duplicate=True)
    assert [(uid, s.plan, s.status) for uid, s in changes] == [(user.id, "pro", "active")]

    invoice = billing.fake.fail_payment(subscription["id"])
    await billing.deliver(duplicate=True)
    assert [s.status for _, s in changes] == ["active", "past_due"]
    ((uid, failure),) = failures
    assert uid == user.id
    assert failure.invoice_id == invoice["id"]
    assert failure.subscription_id == subscription["id"]
    assert failure.amount_due == 2000
    assert failure.next_payment_attempt is not None

    status = await billing.status(headers)
    assert (status["plan"], status["entitled"]) == ("free", False)
    assert status["subscription"]["status"] == "past_due"


async def test_trial_will_end_calls_its_hook_once_while_the_trial_runs(billing: Billing) -> None:
    reminders: list[tuple[int, SubscriptionState]] = []

    @billing.kit.hooks.on_trial_will_end
    async def remind(user: User, state: SubscriptionState) -> None:
        reminders.append((user.id, state))

    headers = await billing.signup()
    user = await billing.user()
    subscription = billing.fake.complete_checkout(await billing.checkout(headers, "team"))
    await billing.deliver()
    event = billing.fake.trial_will_end(subscription["id"])
    await billing.deliver(duplicate=True)

    ((uid, state),) = reminders
    assert uid == user.id
    assert (state.plan, state.status) == ("team", "trialing")
    assert state.trial_end is not None

    # A late event, after the trial turned into a paid subscription, reminds nobody.
    billing.fake.change_subscription(subscription["id"], status="active")
    await billing.deliver()
    await billing.deliver(events=[{**event, "id": "evt_late_trial_will_end"}])
    assert len(reminders) == 1


async def test_past_due_can_be_a_grace_period(
    make_kit: KitFactory, fake_stripe: FakeStripe
) -> None:
    add_prices(fake_stripe)
    settings = billing_settings(fake_stripe, entitled_statuses=["active", "trialing", "past_due"])
    kit = await make_kit(billing=settings)
    async with client_for(kit, gated_app(kit)) as client:
        billing = Billing(kit, client, fake_stripe)
        headers = await billing.signup()
        subscription = await billing.subscribe(headers, "pro")
        fake_stripe.fail_payment(subscription)
        await billing.deliver()
        status = await billing.status(headers)
        assert (status["plan"], status["entitled"]) == ("pro", True)
        assert (await client.get("/reports", headers=headers)).status_code == 200


async def test_cancellation_returns_the_user_to_the_default_plan(billing: Billing) -> None:
    headers = await billing.signup()
    subscription = await billing.subscribe(headers, "pro")
    billing.fake.change_subscription(subscription, cancel_at_period_end=True)
    await billing.deliver()
    status = await billing.status(headers)
    assert status["plan"] == "pro"
    assert status["subscription"]["cancel_at_period_end"] is True
    assert (await billing.client.get("/reports", headers=headers)).status_code == 200

    billing.fake.cancel_subscription(subscription)
    await billing.deliver()
    status = await billing.status(headers)
    assert (status["plan"], status["entitled"]) == ("free", False)
    assert status["subscription"]["status"] == "canceled"
    assert status["subscription"]["ended_at"] is not None
    assert (await billing.client.get("/reports", headers=headers)).status_code == 402


async def test_customer_deleted_unlinks_the_user(billing: Billing) -> None:
    headers = await billing.signup()
    subscription = await billing.subscribe(headers, "pro")
    first_customer = (await billing.user()).stripe_customer_id
    assert first_customer
    billing.fake.delete_customer(first_customer)
    await billing.deliver()
    assert (await billing.user()).stripe_customer_id is None
    (row,) = await billing.rows(Subscription)
    assert (row.stripe_subscription_id, row.status) == (subscription, "canceled")

    # The next billing action makes a new customer (a new idempotency key generation).
    await billing.checkout(headers, "pro")
    second_customer = (await billing.user()).stripe_customer_id
    assert second_customer
    assert second_customer != first_customer
    assert len(billing.fake.customers()) == 1


async def test_plan_change_in_the_portal_is_followed(billing: Billing) -> None:
    headers = await billing.signup()
    subscription = await billing.subscribe(headers, "pro")
    assert (await billing.client.get("/sso", headers=headers)).status_code == 403
    billing.fake.change_subscription(subscription, price="team_monthly", quantity=5)
    await billing.deliver()
    status = await billing.status(headers)
    assert (status["plan"], status["subscription"]["quantity"]) == ("team", 5)
    assert (await billing.client.get("/sso", headers=headers)).status_code == 200


async def test_trial_will_end_and_invoice_paid_resync(billing: Billing) -> None:
    headers = await billing.signup()
    subscription = await billing.subscribe(headers, "team")
    status = await billing.status(headers)
    assert status["subscription"]["status"] == "trialing"
    assert status["subscription"]["trial_end"] is not None
    billing.fake.trial_will_end(subscription)
    billing.fake.renew(subscription)
    responses = await billing.deliver()
    assert {r.json()["type"] for r in responses} >= {
        "customer.subscription.trial_will_end",
        "invoice.paid",
    }
    assert (await billing.status(headers))["subscription"]["status"] == "active"


async def test_background_processing(make_kit: KitFactory, fake_stripe: FakeStripe) -> None:
    add_prices(fake_stripe)
    kit = await make_kit(billing=billing_settings(fake_stripe, webhook_processing="background"))
    async with client_for(kit, gated_app(kit)) as client:
        billing = Billing(kit, client, fake_stripe)
        headers = await billing.signup()
        fake_stripe.complete_checkout(await billing.checkout(headers))
        responses = await billing.deliver()
        assert {r.json()["status"] for r in responses} == {"queued"}
        await kit.runner.drain()
        assert (await billing.status(headers))["plan"] == "pro"
        assert {r.status for r in await billing.rows(WebhookEvent)} == {"processed"}


async def test_webhook_without_a_configured_secret_is_refused(
    make_kit: KitFactory, fake_stripe: FakeStripe
) -> None:
    kit = await make_kit(billing=billing_settings(fake_stripe, webhook_secret=None))
    async with client_for(kit) as client:
        body = b'{"id": "evt_1"}'
        response = await client.post(
            WEBHOOK, content=body, headers={"Stripe-Signature": fake_stripe.sign(body)}
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"


async def test_an_event_of_the_other_stripe_mode_is_refused_and_not_stored(
    billing: Billing, caplog: pytest.LogCaptureFixture
) -> None:
    headers = await billing.signup()
    billing.fake.complete_checkout(await billing.checkout(headers))
    events = billing.fake.take_events()
    live = [{**event, "id": f"{event['id']}_live", "livemode": True} for event in events]
    with caplog.at_level(logging.ERROR, logger="saaskit.billing"):
        responses = await billing.fake.deliver(billing.client, events=live)
    assert {r.status_code for r in responses} == {400}
    assert {r.json()["error"]["code"] for r in responses} == {"invalid_webhook"}
    assert "live-mode event" in caplog.text
    assert await billing.rows(WebhookEvent) == []
    assert (await billing.status(headers))["subscription"] is None

    await billing.deliver(events=events)  # the test-mode originals are applied
    assert (await billing.status(headers))["plan"] == "pro"


def test_the_mode_of_a_key() -> None:
    assert key_mode("sk_live_abc") is True
    assert key_mode("rk_live_abc") is True
    assert key_mode("sk_test_abc") is False
    assert key_mode("sk_fake") is None
    assert key_mode(None) is None

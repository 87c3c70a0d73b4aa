"""Lifecycle emails: trial ending, payment failed, payment action required, canceled."""

from __future__ import annotations

from typing import Any

import pytest

from saaskit.email import MemorySender
from saaskit.models import User
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.types import PaymentFailure
from tests.billing.helpers import Billing, add_prices, billing_settings, gated_app
from tests.helpers import KitFactory, client_for

ALICE = "alice@example.com"


@pytest.fixture
def outbox(billing: Billing) -> MemorySender:
    sender = MemorySender()
    billing.kit.mailer.sender = sender
    return sender


async def test_the_trial_ending_email_is_sent_once(billing: Billing, outbox: MemorySender) -> None:
    headers = await billing.signup()
    subscription = billing.fake.complete_checkout(await billing.checkout(headers, "team"))
    await billing.deliver()
    billing.fake.trial_will_end(subscription["id"])
    await billing.deliver(duplicate=True)
    await billing.kit.runner.drain()

    (mail,) = [m for m in outbox.messages_to(ALICE) if "trial" in m.subject]
    assert "ends on 20" in mail.subject  # the trial's end date
    assert "team" in mail.text
    assert "/billing" in (mail.html or "")


async def test_a_failed_payment_email_is_sent_once_with_the_invoice_link(
    billing: Billing, outbox: MemorySender
) -> None:
    headers = await billing.signup()
    subscription = await billing.subscribe(headers, "pro")
    invoice = billing.fake.fail_payment(subscription)
    await billing.deliver(duplicate=True)
    await billing.kit.runner.drain()

    (mail,) = [m for m in outbox.messages_to(ALICE) if "payment failed" in m.subject]
    assert "20.00 USD" in mail.text
    assert invoice["hosted_invoice_url"] in mail.text
    assert "try again on 20" in mail.text


async def test_a_payment_needing_confirmation_sends_its_email_and_hook(
    billing: Billing, outbox: MemorySender
) -> None:
    calls: list[PaymentFailure] = []

    @billing.kit.hooks.on_payment_action_required
    async def confirm(user: User, failure: PaymentFailure) -> None:
        calls.append(failure)

    headers = await billing.signup()
    subscription = await billing.subscribe(headers, "pro")
    billing.fake.fail_payment(subscription)
    failed = next(e for e in billing.fake.take_events() if e["type"] == "invoice.payment_failed")
    action = {**failed, "id": f"{failed['id']}_sca", "type": "invoice.payment_action_required"}
    await billing.deliver(events=[action], duplicate=True)
    await billing.kit.runner.drain()

    (failure,) = calls
    assert failure.invoice_id == failed["data"]["object"]["id"]
    (mail,) = [m for m in outbox.messages_to(ALICE) if m.subject.endswith("payment")]
    assert failed["data"]["object"]["hosted_invoice_url"] in mail.text
    assert not [m for m in outbox.messages_to(ALICE) if "payment failed" in m.subject]


async def test_the_end_of_a_subscription_sends_one_email_and_hook(
    billing: Billing, outbox: MemorySender
) -> None:
    ended: list[str] = []

    @billing.kit.hooks.on_subscription_canceled
    async def canceled(user: User, state: Any) -> None:
        ended.append(state.status)

    headers = await billing.signup()
    subscription = await billing.subscribe(headers, "pro")
    billing.fake.cancel_subscription(subscription)
    await billing.deliver(duplicate=True)
    await billing.kit.runner.drain()

    assert ended == ["canceled"]
    (mail,) = [m for m in outbox.messages_to(ALICE) if "has ended" in m.subject]
    assert "pro" in mail.text


async def test_lifecycle_emails_can_be_switched_off_and_hooks_still_run(
    make_kit: KitFactory, fake_stripe: FakeStripe
) -> None:
    add_prices(fake_stripe)
    kit = await make_kit(billing=billing_settings(fake_stripe, lifecycle_emails=False))
    outbox = MemorySender()
    kit.mailer.sender = outbox
    failures: list[PaymentFailure] = []

    @kit.hooks.on_payment_failed
    async def failed(user: User, failure: PaymentFailure) -> None:
        failures.append(failure)

    async with client_for(kit, gated_app(kit)) as client:
        billing = Billing(kit, client, fake_stripe)
        headers = await billing.signup()
        subscription = await billing.subscribe(headers, "pro")
        billing.fake.fail_payment(subscription)
        await billing.deliver()
        await kit.runner.drain()

    assert len(failures) == 1
    assert [m.subject for m in outbox.messages_to(ALICE) if "payment" in m.subject.lower()] == []

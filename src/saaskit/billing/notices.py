"""Lifecycle emails: trial ending, payment failed, payment action required, canceled.

Kit listeners on the billing hook events queue one email each (task
``billing.send_notice``), so a webhook never waits for SMTP. Each event is processed once
(webhook events are deduplicated by id), so each email is sent once per event. The
templates are ``billing_<kind>`` (``.subject.txt``, ``.txt``, ``.html``): a host overrides
them like any other email template. ``billing.lifecycle_emails=false`` switches them off;
the hooks still run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from saaskit.billing.types import SubscriptionState
from saaskit.email.mailer import Mailer
from saaskit.hooks import Hooks
from saaskit.tasks.runner import TaskRunner
from saaskit.tasks.typed import TaskDef, enqueue
from saaskit.types import PaymentFailure

NoticeKind = Literal[
    "trial_will_end", "payment_failed", "payment_action_required", "subscription_canceled"
]


@dataclass(frozen=True, slots=True)
class BillingNotice:
    """Payload of ``billing.send_notice``: one lifecycle email and what it says."""

    kind: str
    to: str
    name: str | None = None
    plan: str | None = None
    date: str | None = None
    amount: int | None = None
    currency: str | None = None
    link: str | None = None


SEND_NOTICE = TaskDef("billing.send_notice", BillingNotice)
"""The task that sends one lifecycle email."""


def _day(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d") if value is not None else None


def _amount(cents: int | None, currency: str | None) -> str | None:
    if cents is None or not currency:
        return None
    return f"{cents / 100:.2f} {currency.upper()}"


class BillingNotices:
    """Queues and sends the lifecycle emails."""

    def __init__(self, mailer: Mailer, runner: TaskRunner) -> None:
        self.mailer = mailer
        self.runner = runner

    def install(self, hooks: Hooks[Any]) -> None:
        """Listen to the four events (kit listeners: host code cannot unhook them)."""
        hooks.listen("trial_will_end", self.trial_will_end)
        hooks.listen("subscription_canceled", self.subscription_canceled)
        hooks.listen("payment_failed", self.payment_failed)
        hooks.listen("payment_action_required", self.payment_action_required)

    async def trial_will_end(self, user: Any, state: SubscriptionState) -> None:
        """Queue the "your trial ends on ..." email."""
        await self._queue(user, "trial_will_end", plan=state.plan, date=_day(state.trial_end))

    async def subscription_canceled(self, user: Any, state: SubscriptionState) -> None:
        """Queue the "your subscription ended" email."""
        await self._queue(user, "subscription_canceled", plan=state.plan)

    async def payment_failed(self, user: Any, failure: PaymentFailure) -> None:
        """Queue the "your payment failed" email, with the invoice's page."""
        await self._payment(user, "payment_failed", failure)

    async def payment_action_required(self, user: Any, failure: PaymentFailure) -> None:
        """Queue the "confirm your payment" email (3-D Secure), with the invoice's page."""
        await self._payment(user, "payment_action_required", failure)

    async def _payment(self, user: Any, kind: NoticeKind, failure: PaymentFailure) -> None:
        await self._queue(
            user,
            kind,
            amount=failure.amount_due,
            currency=failure.currency,
            link=failure.hosted_invoice_url,
            date=_day(failure.next_payment_attempt),
        )

    async def _queue(self, user: Any, kind: NoticeKind, **values: Any) -> None:
        notice = BillingNotice(kind=kind, to=user.email, name=user.full_name, **values)
        await enqueue(self.runner, SEND_NOTICE, notice)

    async def send(self, notice: BillingNotice) -> None:
        """Task ``billing.send_notice``: render ``billing_<kind>`` and send it."""
        await self.mailer.send(
            f"billing_{notice.kind}",
            notice.to,
            {
                "name": notice.name,
                "plan": notice.plan,
                "date": notice.date,
                "amount": _amount(notice.amount, notice.currency),
                "link": notice.link,
            },
        )


__all__ = ["SEND_NOTICE", "BillingNotice", "BillingNotices", "NoticeKind"]

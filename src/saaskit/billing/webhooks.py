"""Stripe webhooks: verify, record, then process by re-fetching from Stripe.

1. The ``Stripe-Signature`` header is checked on the raw body (HMAC-SHA256, timestamp
   within the tolerance) before anything is parsed or written.
2. The event is stored first (``webhook_events``, unique by Stripe event id): a
   duplicate of a processed event is a no-op; a failed one is processed again.
3. Processing re-fetches what the event names (see :mod:`saaskit.billing.sync`).
   A failure is recorded (``status=failed``, ``last_error``) and re-raised so Stripe
   retries; ``saaskit billing replay-failed`` processes failed events again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Literal

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.billing.gateway import _id
from saaskit.billing.models import WebhookEventMixin
from saaskit.billing.sync import SubscriptionSync
from saaskit.billing.types import PaymentFailure, SubscriptionState
from saaskit.exceptions import (
    InvalidWebhook,
    InvalidWebhookSignature,
    ServiceUnavailable,
    WebhookFailed,
)
from saaskit.hooks import Hooks
from saaskit.observability.metrics import recorder
from saaskit.owners import Owner
from saaskit.store import Store
from saaskit.tasks.runner import TaskRunner
from saaskit.tasks.typed import TaskDef, enqueue
from saaskit.types import UserT

logger = logging.getLogger("saaskit.billing")

HANDLED = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "customer.subscription.trial_will_end",
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.payment_action_required",
        "customer.deleted",
    }
)


@dataclass(frozen=True, slots=True)
class ProcessEvent:
    """Payload of ``billing.process_event``: the stored webhook event to process."""

    event_id: str


PROCESS_EVENT = TaskDef("billing.process_event", ProcessEvent)
PROCESS_TASK = PROCESS_EVENT.name
STUCK_AFTER = timedelta(minutes=10)  # a "received" event older than this was interrupted


EventStatus = Literal["received", "processed", "failed"]
"""Where a stored event is: received (not done yet, or interrupted), processed, or failed
(retried by ``saaskit billing retry-events`` and by a redelivery)."""

RECEIVED: EventStatus = "received"
PROCESSED: EventStatus = "processed"
FAILED: EventStatus = "failed"

ReceiptStatus = Literal["processed", "queued", "duplicate"]
"""What the webhook route answers about one delivery."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """What happened to a delivered event."""

    event_id: str
    type: str
    status: ReceiptStatus


def verify_signature(body: bytes, header: str | None, secret: str, tolerance: int) -> None:
    """Check Stripe's ``t=...,v1=...`` signature of ``body`` (SDK implementation)."""
    import stripe

    if not header:
        raise InvalidWebhookSignature("The Stripe-Signature header is missing.")
    try:
        stripe.WebhookSignature.verify_header(body.decode("utf-8"), header, secret, tolerance)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as error:
        raise InvalidWebhookSignature() from error


def _event(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except ValueError as error:
        raise InvalidWebhook() from error
    valid = (
        isinstance(event, dict)
        and event.get("object") == "event"
        and isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance((event.get("data") or {}).get("object"), dict)
    )
    if not valid:
        raise InvalidWebhook()
    checked: dict[str, Any] = event
    return checked


def key_mode(secret_key: str | None) -> bool | None:
    """Whether a Stripe API key is a live-mode key (``None``: not a recognisable key)."""
    if not secret_key:
        return None
    if secret_key.startswith(("sk_live_", "rk_live_")):
        return True
    if secret_key.startswith(("sk_test_", "rk_test_")):
        return False
    return None


def _when(event: dict[str, Any]) -> datetime | None:
    created = event.get("created")
    return datetime.fromtimestamp(created, UTC) if isinstance(created, int) else None


class WebhookProcessor(Generic[UserT]):
    """Receives, records and processes Stripe events."""

    def __init__(
        self,
        model: type[WebhookEventMixin],
        session_factory: async_sessionmaker[AsyncSession],
        sync: SubscriptionSync[UserT],
        store: Store,
        hooks: Hooks[UserT],
        *,
        secret: str | None,
        tolerance: int = 300,
        runner: TaskRunner | None = None,
        livemode: bool | None = None,
    ) -> None:
        self.model = model
        self.session_factory = session_factory
        self.sync = sync
        self.store = store
        self.hooks = hooks
        self.secret = secret
        self.tolerance = tolerance
        self.runner = runner  # None: process inline, before answering Stripe
        self.livemode = livemode  # the API key's mode; events of the other are refused

    async def record(self, body: bytes, signature: str | None) -> tuple[str, str, bool]:
        """Verify and store an event; returns its id, type and whether it needs processing."""
        if not self.secret:
            logger.error("stripe webhook refused: SAASKIT_BILLING__WEBHOOK_SECRET is not set")
            raise InvalidWebhookSignature("Webhook signing is not configured.")
        verify_signature(body, signature, self.secret, self.tolerance)
        event = _event(body)
        mode = event.get("livemode")
        if self.livemode is not None and isinstance(mode, bool) and mode != self.livemode:
            # A live event at a test deployment (or the reverse) is a misconfigured
            # endpoint: applying it would mix modes. Refused (Stripe retries and then
            # warns the account), never stored.
            logger.error(
                "stripe webhook %s refused: a %s-mode event, and SAASKIT_BILLING__SECRET_KEY "
                "is a %s-mode key",
                event["id"],
                "live" if mode else "test",
                "live" if self.livemode else "test",
            )
            raise InvalidWebhook("This event is from the other Stripe mode (live or test).")
        values: dict[str, Any] = {
            "stripe_event_id": event["id"],
            "type": event["type"][:128],
            "status": RECEIVED,
            "attempts": 0,
            "payload": event,
            "event_created_at": _when(event),
        }
        row = self.model(**values)
        async with self.session_factory() as db:
            db.add(row)
            try:
                await db.commit()
                return event["id"], event["type"], True
            except IntegrityError:
                await db.rollback()
            status = await db.scalar(
                select(self.model.status).where(self.model.stripe_event_id == event["id"])
            )
        return event["id"], event["type"], status != PROCESSED

    async def receive(self, body: bytes, signature: str | None) -> Receipt:
        """Verify, store and process one delivery (or queue it, in background mode)."""
        event_id, event_type, pending = await self.record(body, signature)
        if not pending:
            recorder().webhook("duplicate")
            return Receipt(event_id, event_type, "duplicate")
        if self.runner is not None:
            await enqueue(self.runner, PROCESS_EVENT, ProcessEvent(event_id))
            recorder().webhook("queued")
            return Receipt(event_id, event_type, "queued")
        done = await self.process(event_id)
        if not done:
            recorder().webhook("duplicate")
        return Receipt(event_id, event_type, "processed" if done else "duplicate")

    async def process(self, event_id: str) -> bool:
        """Process a stored event once; False if it was done or is being done elsewhere.

        Raises:
            ServiceUnavailable: Stripe (or the store) is unavailable; recorded as failed.
            WebhookFailed: any other failure; recorded as failed.
        """
        lock = f"billing:event-lock:{event_id}"
        if not await self.store.claim(lock, 120):
            return False
        try:
            return await self._process(event_id)
        finally:
            await self.store.delete(lock)

    async def _process(self, event_id: str) -> bool:
        async with self.session_factory() as db:
            row = await db.scalar(select(self.model).where(self.model.stripe_event_id == event_id))
            if row is None or row.status == PROCESSED:
                return False
            row.attempts += 1
            await db.commit()
            try:
                await self.handle(row.payload)
            except Exception as error:
                recorder().webhook(FAILED)
                row.status = FAILED
                row.last_error = f"{type(error).__name__}: {error}"[:2000]
                await db.commit()
                logger.warning(
                    "stripe event %s (%s) failed (attempt %d): %s",
                    event_id,
                    row.type,
                    row.attempts,
                    row.last_error,
                    exc_info=not isinstance(error, ServiceUnavailable),
                )
                if isinstance(error, ServiceUnavailable):
                    raise
                raise WebhookFailed() from error
            row.status, row.last_error = PROCESSED, None
            row.processed_at = datetime.now(UTC)
            await db.commit()
            created = row.event_created_at
            if created is not None and created.tzinfo is None:  # SQLite keeps no zone
                created = created.replace(tzinfo=UTC)
            lag = (row.processed_at - created).total_seconds() if created else None
            recorder().webhook(PROCESSED, lag)
            return True

    async def handle(self, event: dict[str, Any]) -> None:
        """Apply one event by re-fetching what it names from Stripe."""
        kind: str = event["type"]
        obj: dict[str, Any] = event["data"]["object"]
        at = _when(event)
        if kind not in HANDLED:
            logger.debug("stripe event %s (%s) ignored", event.get("id"), kind)
        elif kind.startswith("customer.subscription."):
            state = await self.sync.subscription(str(obj["id"]), event_at=at)
            if kind == "customer.subscription.trial_will_end" and state is not None:
                await self._trial_will_end(state)
            elif kind == "customer.subscription.deleted" and state is not None:
                await self._canceled(state)
        elif kind == "checkout.session.completed":
            subscription = _id(obj.get("subscription"))
            if subscription:
                reference = str(obj.get("client_reference_id") or "")
                # "5" (a user, as every kit version writes it) or "organization:3".
                hint = Owner.parse(reference if ":" in reference else f"user:{reference}")
                await self.sync.subscription(subscription, event_at=at, owner_hint=hint)
        elif kind == "customer.deleted":
            await self.sync.customer_deleted(str(obj["id"]), event_at=at)
        else:
            await self._invoice(kind, obj, at)

    async def _trial_will_end(self, state: SubscriptionState) -> None:
        # Only a trial that still runs: an event that arrives after the customer paid
        # early or canceled reminds nobody.
        if state.user_id is None or state.status != "trialing":
            return
        user = await self.sync.users.get(state.user_id)
        if user is not None:
            await self.hooks.emit_event("trial_will_end", user, state)

    async def _canceled(self, state: SubscriptionState) -> None:
        if state.user_id is None or state.status != "canceled":
            return
        user = await self.sync.users.get(state.user_id)
        if user is not None:
            await self.hooks.emit_event("subscription_canceled", user, state)

    async def _invoice(self, kind: str, invoice: dict[str, Any], at: datetime | None) -> None:
        details = (invoice.get("parent") or {}).get("subscription_details") or {}
        subscription = _id(details.get("subscription") or invoice.get("subscription"))
        customer = _id(invoice.get("customer"))
        user_id = None
        if subscription:
            state = await self.sync.subscription(subscription, event_at=at)
            user_id = state.user_id if state else None
        elif customer:
            states = await self.sync.customer(customer, event_at=at)
            user_id = next((s.user_id for s in states if s.user_id), None)
        if kind not in ("invoice.payment_failed", "invoice.payment_action_required"):
            return
        if user_id is None:
            return
        user = await self.sync.users.get(user_id)
        if user is None:
            return
        next_attempt = invoice.get("next_payment_attempt")
        failure = PaymentFailure(
            invoice_id=str(invoice.get("id")),
            customer_id=customer or "",
            subscription_id=subscription,
            amount_due=int(invoice.get("amount_due") or 0),
            currency=str(invoice.get("currency") or ""),
            attempt_count=int(invoice.get("attempt_count") or 0),
            next_payment_attempt=datetime.fromtimestamp(next_attempt, UTC)
            if next_attempt
            else None,
            hosted_invoice_url=invoice.get("hosted_invoice_url"),
        )
        if kind == "invoice.payment_failed":
            await self.hooks.emit_event("payment_failed", user, failure)
        else:
            await self.hooks.emit_event("payment_action_required", user, failure)

    async def replay_failed(self, *, limit: int = 100) -> tuple[int, int]:
        """Process failed (and interrupted) events again, oldest first.

        Returns:
            How many were processed and how many failed again.
        """
        stuck = datetime.now(UTC) - STUCK_AFTER
        async with self.session_factory() as db:
            ids = list(
                await db.scalars(
                    select(self.model.stripe_event_id)
                    .where(
                        or_(
                            self.model.status == FAILED,
                            (self.model.status == RECEIVED) & (self.model.created_at < stuck),
                        )
                    )
                    .order_by(self.model.event_created_at, self.model.id)
                    .limit(limit)
                )
            )
        processed = failed = 0
        for event_id in ids:
            try:
                processed += await self.process(event_id)
            except (WebhookFailed, ServiceUnavailable):
                failed += 1
        return processed, failed

    async def process_task(self, payload: dict[str, Any]) -> None:
        """Task ``billing.process_event`` (``{"event_id": ...}``) for background mode."""
        await self.process(PROCESS_EVENT.decode(payload).event_id)


__all__ = [
    "HANDLED",
    "PROCESS_EVENT",
    "PROCESS_TASK",
    "ProcessEvent",
    "Receipt",
    "WebhookProcessor",
    "verify_signature",
]

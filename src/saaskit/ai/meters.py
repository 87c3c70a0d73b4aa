"""Usage-based billing: AI usage to Stripe billing meter events, exactly once.

Each recorded AI call (``ai.meter_event_name`` set) writes one row to the
``ai_meter_outbox`` table in the same transaction as its ``ai_usage`` row (see
:class:`~saaskit.ai.metering.UsageMeter`). :class:`MeterReporter` sends the pending rows,
oldest first, one meter event each (``POST /v1/billing/meter_events``), and marks them
sent. It runs as the ``billing.flush_meters`` task (queued after each metered call, and
worth scheduling every minute) and from ``saaskit billing flush-meters``.

Exactly once:

- never lost: a row stays ``pending`` until Stripe accepted its event; a Stripe outage
  or a dead worker leaves it for the next flush (retried with backoff);
- never twice: each event's ``identifier`` is derived from its row
  (``saaskit-{owner_kind}-{owner_id}-{row id}``) and sent as the idempotency key too.
  Stripe refuses an identifier it has seen within at least 24 hours ("An event already
  exists with identifier ..."): that answer means the event was delivered before (a
  worker killed after Stripe answered), and the row is marked sent. Two workers
  flushing at once each claim a row before sending it, so they do not both send it.

Retries stay well inside Stripe's windows: a row whose first attempt is older than
``retry_window`` (20 hours, under the 24-hour deduplication window) is no longer sent,
as Stripe might count a retry twice; nor is one whose usage is older than ``max_age``
(34 days, under Stripe's 35-day limit on past timestamps). Both are marked ``failed``
and logged as errors (never dropped silently: the rows stay, for an operator). A row
still pending a day after its usage is logged as a warning at each flush.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.ai.metering import utc_now
from saaskit.ai.models import AIMeterOutboxMixin
from saaskit.exceptions import SaaSKitError, ServiceUnavailable
from saaskit.owners import Owner, OwnerKind
from saaskit.tasks.typed import TaskDef

logger = logging.getLogger("saaskit.ai.meters")

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"


class MeterSink(Protocol):
    """Where meter events go (:class:`saaskit.billing.gateway.StripeGateway` is one)."""

    async def send_meter_event(
        self, *, event_name: str, customer_id: str, value: int, identifier: str, timestamp: int
    ) -> bool:
        """Send one meter event; ``True`` when Stripe already had its ``identifier``.

        Raises:
            ServiceUnavailable: Stripe could not be reached or failed (retry later).
            SaaSKitError: Stripe refused the event (retrying would not help).
        """
        ...


@dataclass(frozen=True, slots=True)
class FlushMeters:
    """The ``billing.flush_meters`` task: send up to ``limit`` due outbox rows."""

    limit: int = 100


FLUSH_METERS = TaskDef("billing.flush_meters", FlushMeters)
"""Queued after each metered AI call; schedule it every minute too (retries)."""

CustomerLookup = Callable[[Owner], Awaitable[str | None]]
"""An owner's Stripe customer id (``None``: the owner has none)."""


def identifier_of(row: AIMeterOutboxMixin) -> str:
    """The meter event identifier of an outbox row (the same at every attempt)."""
    return f"saaskit-{row.owner_kind}-{row.owner_id}-{row.id}"


@dataclass
class FlushResult:
    """What one :meth:`MeterReporter.flush` did, in rows."""

    sent: int = 0
    """Accepted by Stripe (duplicates included)."""
    duplicates: int = 0
    """Stripe already had the identifier: delivered by an earlier attempt."""
    deferred: int = 0
    """Stripe unavailable: left pending, retried after a backoff."""
    failed: int = 0
    """Given up on (refused, or too old to retry safely); logged as errors."""
    skipped: int = 0
    """The owner has no Stripe customer."""

    @property
    def unavailable(self) -> bool:
        """Whether Stripe could not be reached (the flush stopped early)."""
        return self.deferred > 0


class MeterReporter:
    """Sends the ``ai_meter_outbox`` rows to Stripe billing meters.

    Args:
        outbox: the mapped outbox table.
        session_factory: sessions on the primary database.
        sink: sends one meter event (the Stripe gateway).
        customers: an owner's Stripe customer id.
        clock: now, in UTC (injected in tests).
        retry_window: no attempt after this long since a row's first one.
        max_age: no attempt on usage older than this.
        backoff: the delay after a row's first failed attempt, doubling, up to
            ``max_backoff``.
        lease: how long a claimed row is left to its sender before another flush may
            take it (a sender that died).
    """

    def __init__(
        self,
        outbox: type[AIMeterOutboxMixin],
        session_factory: async_sessionmaker[AsyncSession],
        sink: MeterSink,
        customers: CustomerLookup,
        *,
        clock: Callable[[], datetime] = utc_now,
        retry_window: timedelta = timedelta(hours=20),
        max_age: timedelta = timedelta(days=34),
        backoff: timedelta = timedelta(seconds=30),
        max_backoff: timedelta = timedelta(hours=1),
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self.outbox = outbox
        self.session_factory = session_factory
        self.sink = sink
        self.customers = customers
        self.clock = clock
        self.retry_window = retry_window
        self.max_age = max_age
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.lease = lease

    async def flush(self, limit: int = 100) -> FlushResult:
        """Send up to ``limit`` due rows, oldest first; stop at the first Stripe outage."""
        result = FlushResult()
        customers: dict[Owner, str | None] = {}
        for row_id in await self._due(limit):
            row = await self._claim(row_id)
            if row is None:
                continue  # another sender took it
            owner = Owner(cast(OwnerKind, row.owner_kind), row.owner_id)
            if owner not in customers:
                customers[owner] = await self.customers(owner)
            outcome = await self._send(row, customers[owner])
            setattr(result, outcome, getattr(result, outcome) + 1)
            if outcome == "sent" and row.last_error == "duplicate":
                result.duplicates += 1
            if outcome == "deferred":
                break
        return result

    async def pending(self) -> int:
        """How many rows wait to be sent (due or not)."""
        table = self.outbox
        async with self.session_factory() as db:
            count = await db.scalar(select(func.count()).where(table.status == PENDING))
        return int(count or 0)

    # -- internals ---------------------------------------------------------------

    async def _due(self, limit: int) -> list[int]:
        table = self.outbox
        async with self.session_factory() as db:
            rows = await db.scalars(
                select(table.id)
                .where(table.status == PENDING, table.next_attempt_at <= self.clock())
                .order_by(table.id)
                .limit(limit)
            )
            return list(rows)

    async def _claim(self, row_id: int) -> AIMeterOutboxMixin | None:
        # One conditional update: of two senders, one moves the row's next attempt past
        # now and gets it; the other's update matches nothing.
        table = self.outbox
        now = self.clock()
        async with self.session_factory() as db:
            row = await db.get(table, row_id)
            if row is None or row.status != PENDING or _utc(row.next_attempt_at) > now:
                return None
            claimed = await db.execute(
                update(table)
                .where(
                    table.id == row_id,
                    table.status == PENDING,
                    table.attempts == row.attempts,
                )
                .values(
                    attempts=row.attempts + 1,
                    next_attempt_at=now + self.lease,
                    first_attempt_at=row.first_attempt_at or now,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                await db.rollback()
                return None
            await db.commit()
            await db.refresh(row)
            db.expunge(row)
            return row

    async def _send(self, row: AIMeterOutboxMixin, customer_id: str | None) -> str:
        now = self.clock()
        identifier = identifier_of(row)
        occurred = _utc(row.occurred_at)
        first = _utc(row.first_attempt_at) if row.first_attempt_at else now
        if now - occurred > self.max_age:
            logger.error(
                "AI meter event %s (%s credits of %s:%s, %s) is older than %s days: Stripe "
                "would refuse it; marked failed, bill it by hand",
                identifier,
                row.value,
                row.owner_kind,
                row.owner_id,
                occurred.isoformat(),
                self.max_age.days,
            )
            await self._finish(row.id, FAILED, "too old for Stripe's 35-day limit")
            return "failed"
        if row.attempts > 1 and now - first > self.retry_window:
            logger.error(
                "AI meter event %s (%s credits of %s:%s) was first sent %s and never "
                "confirmed; a retry now could be counted twice (Stripe deduplicates for "
                "24 hours): marked failed, check the meter in Stripe",
                identifier,
                row.value,
                row.owner_kind,
                row.owner_id,
                first.isoformat(),
            )
            await self._finish(row.id, FAILED, "retry window over")
            return "failed"
        if now - occurred > timedelta(hours=24):
            logger.warning(
                "AI meter event %s has waited since %s to reach Stripe",
                identifier,
                occurred.isoformat(),
            )
        if customer_id is None:
            logger.warning(
                "AI usage of %s:%s (%s credits) not metered: the owner has no Stripe customer",
                row.owner_kind,
                row.owner_id,
                row.value,
            )
            await self._finish(row.id, SKIPPED, "no Stripe customer")
            return "skipped"
        try:
            duplicate = await self.sink.send_meter_event(
                event_name=row.event_name,
                customer_id=customer_id,
                value=row.value,
                identifier=identifier,
                timestamp=int(occurred.timestamp()),
            )
        except ServiceUnavailable as error:
            delay = min(self.backoff * 2 ** (row.attempts - 1), self.max_backoff)
            logger.warning(
                "AI meter event %s not sent (%s); retrying in %ss",
                identifier,
                error,
                int(delay.total_seconds()),
            )
            await self._defer(row.id, now + delay, str(error))
            return "deferred"
        except SaaSKitError as error:
            logger.error("Stripe refused AI meter event %s: %s; marked failed", identifier, error)
            await self._finish(row.id, FAILED, f"refused: {error}")
            return "failed"
        await self._finish(row.id, SENT, "duplicate" if duplicate else None, sent_at=now)
        row.last_error = "duplicate" if duplicate else None
        return "sent"

    async def _finish(
        self, row_id: int, status: str, note: str | None, *, sent_at: datetime | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status, "last_error": note and note[:255]}
        if sent_at is not None:
            values["sent_at"] = sent_at
        await self._update(row_id, values)

    async def _defer(self, row_id: int, when: datetime, error: str) -> None:
        await self._update(row_id, {"next_attempt_at": when, "last_error": error[:255]})

    async def _update(self, row_id: int, values: dict[str, Any]) -> None:
        table = self.outbox
        async with self.session_factory() as db:
            await db.execute(update(table).where(table.id == row_id).values(values))
            await db.commit()


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

"""Token metering: reserve before a call, settle after it, per billing owner and month (UTC).

Usage belongs to an owner (:class:`~saaskit.owners.Owner`: a user, or an organization
whose members share a quota); every method also takes a bare ``int``, a user id.

Two records are kept:

- the ``ai_usage`` table: tokens per owner, model and month, upserted after each call;
  the durable truth, read by ``GET /ai/usage`` and reports;
- a store counter per owner and month (``ai:tokens:{user}:{YYYY-MM}`` for a user, as
  before owners, so a rolling deploy shares it; ``ai:tokens:{kind}:{id}:{YYYY-MM}`` for
  other owners): used tokens plus
  the reservations of calls in flight, changed with atomic ``incr``. Quotas are checked
  against it, so concurrent requests cannot overshoot: each one adds its worst case
  before calling the provider and is refused (its reservation undone) when the total
  would pass the quota. A reservation larger than the whole quota is refused without
  touching the counter.

The guarantee: a reservation never takes the counter past the quota, and a commit
replaces a reservation by what the provider reported. So the counter passes the quota
only when a call is charged more than it reserved (the meter then logs a warning), by
that excess, or through :meth:`UsageMeter.record`, which checks no quota; either way
every later reservation of the month is refused. With saaskit's byte-bound estimate
(:mod:`saaskit.ai.estimate`) and a byte-level tokenizer a call cannot be charged more
than it reserved.

When the counter is missing (a new month, a Redis flush, a restarted process with the
in-process store) it is rebuilt from the table before the next reservation. Calls in
flight at the moment of a cache loss may be under-counted by their reservation once.

A call billed to a pooled owner (an organization) on behalf of one of its members
names that member: the ``ai_member_usage`` table then gets the same tokens per member,
in the same transaction as the owner's ``ai_usage`` row, so the members' rows add up to
the owner's. The quota counts the owner's counter only.

The ``ai_daily_usage`` table keeps the same tokens per owner, model and UTC day (the
day the call is charged, by the meter's clock), written by the same transaction as the
``ai_usage`` row: one more upsert statement per call, not one more commit. It feeds the
charts (:meth:`UsageMeter.daily_usage`, the admin console); quotas never read it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Executable, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.ai.models import (
    AIDailyUsageMixin,
    AIMemberUsageMixin,
    AIMeterOutboxMixin,
    AIUsageMixin,
)
from saaskit.db.replicas import ReadRouter
from saaskit.exceptions import AIQuotaExceeded
from saaskit.observability.metrics import recorder
from saaskit.owners import Owner, as_owner
from saaskit.store import Store

_UPSERT_ATTEMPTS = 3
_DAILY_PAUSE_SECONDS = 60
"""How long day rows are skipped after their table was found missing (then tried again)."""
logger = logging.getLogger("saaskit.ai")

# Counters outlive their month by a few days: calls that start on the last evening of
# a month settle against it.
_COUNTER_GRACE = timedelta(days=3)


def utc_now() -> datetime:
    """The current time in UTC (the meters' default clock)."""
    return datetime.now(UTC)


def month_of(moment: datetime) -> str:
    """The ``YYYY-MM`` key of ``moment``'s month in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def day_of(moment: datetime) -> str:
    """The ``YYYY-MM-DD`` key of ``moment``'s day in UTC."""
    return moment.astimezone(UTC).date().isoformat()


def month_reset(month: str) -> datetime:
    """When ``month``'s quota resets: the first instant of the next month, UTC."""
    year, number = (int(part) for part in month.split("-"))
    return datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)


_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def period_key(period_end: datetime) -> str:
    """The usage key of the billing period ending at ``period_end``: ``P`` and 5 characters.

    The period's end (to the minute, base 36) names it: Stripe keeps it while the period
    runs, and a renewal or an interval change moves it, opening a new window. It fits
    the ``month`` columns (7 characters) until the year 2084, and never looks like a
    ``YYYY-MM`` month.
    """
    minutes = int(period_end.timestamp()) // 60
    digits = ""
    while minutes:
        minutes, digit = divmod(minutes, 36)
        digits = _BASE36[digit] + digits
    return "P" + (digits or "0").rjust(5, "0")


@dataclass(frozen=True)
class UsageWindow:
    """Where usage is counted now: a calendar month or a billing period.

    ``key`` is ``YYYY-MM`` or a :func:`period_key`; the quota resets at ``resets_at``.
    """

    key: str
    resets_at: datetime


PeriodEnd = Callable[[Owner], Awaitable[datetime | None]]
"""The end of ``owner``'s current billing period (``None``: no subscription)."""


def counter_key(owner: Owner | int, month: str) -> str:
    """The store counter of ``owner``'s month (users keep the pre-owner key)."""
    owner = as_owner(owner)
    if owner.kind == "user":
        return f"ai:tokens:{owner.id}:{month}"
    return f"ai:tokens:{owner.kind}:{owner.id}:{month}"


def owned_by(table: type[AIUsageMixin], owner: Owner) -> ColumnElement[bool]:
    """The condition selecting ``owner``'s usage rows.

    Users by ``user_id`` (rows of an older kit have only it), other owners by
    ``owner_kind``/``owner_id``.
    """
    if owner.kind == "user":
        return table.user_id == owner.id
    return (table.owner_kind == owner.kind) & (table.owner_id == owner.id)


@dataclass
class Reservation:
    """Tokens set aside for one call; settle it with commit or release exactly once."""

    owner: Owner
    month: str
    tokens: int
    settled: bool = field(default=False, compare=False)
    member: int | None = None
    """The user who made a call billed to a pooled owner (recorded per member)."""

    @property
    def user_id(self) -> int | None:
        """The user owner's id (``None`` for other owners)."""
        return self.owner.id if self.owner.kind == "user" else None


@dataclass(frozen=True)
class ModelUsage:
    """Usage of one model in one month."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    requests: int

    @property
    def total_tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class DailyUsage:
    """Usage of one model on one UTC day (``day``: ``YYYY-MM-DD``)."""

    day: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    requests: int

    @property
    def total_tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens


def daily_usage_query(
    table: type[AIDailyUsageMixin],
    since: date,
    until: date | None = None,
    owner: Owner | None = None,
) -> Executable:
    """Tokens per day and model from ``since`` to ``until`` (both included), oldest first.

    Every owner's rows added up, or ``owner``'s only. The ``day`` index (or the owner's
    unique key) finds the rows; read the result with :func:`daily_rows`.
    """
    conditions = [table.day >= since.isoformat()]
    if until is not None:
        conditions.append(table.day <= until.isoformat())
    if owner is not None:
        conditions += [table.owner_kind == owner.kind, table.owner_id == owner.id]
    return (
        select(
            table.day,
            table.model,
            func.sum(table.prompt_tokens),
            func.sum(table.completion_tokens),
            func.sum(table.requests),
        )
        .where(*conditions)
        .group_by(table.day, table.model)
        .order_by(table.day, table.model)
    )


async def daily_rows(db: AsyncSession, query: Executable) -> list[DailyUsage]:
    """Run a :func:`daily_usage_query` (sums come back as ``int`` on every database)."""
    return [
        DailyUsage(day, model, int(prompt or 0), int(completion or 0), int(requests or 0))
        for day, model, prompt, completion, requests in await db.execute(query)
    ]


@dataclass(frozen=True)
class MonthlyUsage:
    """An owner's recorded usage in one month, per model.

    ``user_id`` is a user owner's id, ``None`` for other owners.
    """

    user_id: int | None
    month: str
    models: list[ModelUsage]
    owner: Owner | None = None
    reset: datetime | None = None
    """When the window resets, for a billing period (a month's is computed)."""

    @property
    def resets_at(self) -> datetime:
        """When the usage resets: the billing period's end, or the next month's first instant."""
        return self.reset if self.reset is not None else month_reset(self.month)

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens over every model."""
        return sum(m.prompt_tokens for m in self.models)

    @property
    def completion_tokens(self) -> int:
        """Completion tokens over every model."""
        return sum(m.completion_tokens for m in self.models)

    @property
    def total_tokens(self) -> int:
        """All tokens over every model."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def requests(self) -> int:
        """Calls recorded over every model."""
        return sum(m.requests for m in self.models)


@dataclass(frozen=True)
class MemberUsage:
    """One member's share of a pooled owner's month, per model.

    ``user_id`` is ``None`` for the usage of members whose account was deleted.
    """

    user_id: int | None
    models: list[ModelUsage]

    @property
    def total_tokens(self) -> int:
        """All tokens over every model."""
        return sum(m.total_tokens for m in self.models)

    @property
    def requests(self) -> int:
        """Calls recorded over every model."""
        return sum(m.requests for m in self.models)


@dataclass(frozen=True)
class PooledUsage:
    """A pooled owner's month: its total (what the quota counts) and each member's share.

    ``members`` are ordered by tokens, most first; usage recorded for the owner without
    a member (``record`` from host code) shows in ``total`` only.
    """

    total: MonthlyUsage
    members: list[MemberUsage]

    @property
    def unattributed_tokens(self) -> int:
        """Tokens of the month recorded without a member."""
        return max(0, self.total.total_tokens - sum(m.total_tokens for m in self.members))


class UsageMeter:
    """Reserves, commits and reports tokens per user and month.

    Example:
        ```python
        reservation = await meter.reserve(user.id, 1500, quota=100_000)
        try:
            response = await call_the_provider()
        except Exception:
            await meter.release(reservation)  # nothing charged
            raise
        await meter.commit(reservation, "gpt-4o-mini", 120, 480)
        ```
    """

    def __init__(
        self,
        model: type[AIUsageMixin],
        session_factory: async_sessionmaker[AsyncSession],
        store: Store,
        *,
        clock: Callable[[], datetime] = utc_now,
        reads: ReadRouter | None = None,
        members: type[AIMemberUsageMixin] | None = None,
        outbox: type[AIMeterOutboxMixin] | None = None,
        meter_event_name: str | None = None,
        weights: Mapping[str, float] | None = None,
        daily: type[AIDailyUsageMixin] | None = None,
    ) -> None:
        self.model = model
        self.members = members
        # Usage per day (the charts): written with the month's row, same transaction.
        self.daily = daily
        # Usage-based billing: each recorded call also writes an outbox row, in the
        # same transaction (see saaskit.ai.meters).
        self.outbox = outbox if meter_event_name else None
        self.meter_event_name = meter_event_name
        self.weights: Mapping[str, float] = weights or {}
        self.on_metered: Callable[[], Awaitable[None]] | None = None
        """Called after a call's outbox row committed (the kit queues a flush)."""
        self.session_factory = session_factory
        # The usage screen tolerates replication lag; quota counts read the primary.
        self.reads = reads or ReadRouter(session_factory.kw["bind"])
        self.store = store
        self.clock = clock
        self._statements: dict[tuple[str, str, tuple[str, ...]], Executable] = {}
        self._daily_paused_until = 0.0
        """``time.monotonic()`` until which day rows are not written (their table is missing)."""
        self.period_end: PeriodEnd | None = None
        """With ``ai.quota_period = "billing_period"``: each owner's current period end."""

    def current_month(self) -> str:
        """The month usage is counted in now (``YYYY-MM``, by the meter's clock)."""
        return month_of(self.clock())

    async def window(self, owner: Owner | int) -> UsageWindow:
        """Where ``owner``'s usage is counted now.

        The owner's current billing period when the meter follows billing periods and
        the owner has one (synced from Stripe; a late renewal keeps the old window until
        it arrives), else the calendar month (UTC).
        """
        owner = as_owner(owner)
        if self.period_end is not None:
            end = await self.period_end(owner)
            if end is not None:
                return UsageWindow(period_key(end), end.astimezone(UTC))
        month = self.current_month()
        return UsageWindow(month, month_reset(month))

    async def _window_of(self, owner: Owner, key: str | None) -> UsageWindow:
        if key is None:
            return await self.window(owner)
        if key.startswith("P"):  # a past period: its end is not kept
            return UsageWindow(key, self.clock())
        return UsageWindow(key, month_reset(key))

    async def reserve(
        self, owner: Owner | int, tokens: int, *, quota: int | None, member: int | None = None
    ) -> Reservation:
        """Set ``tokens`` aside for a call, or raise :class:`AIQuotaExceeded`.

        The check and the reservation are one atomic step on the store counter: the
        sum of everything reserved and used never passes ``quota`` (``None``: no limit,
        but the tokens are still counted). ``tokens`` over the whole ``quota`` are
        refused without touching the counter: such a call could never fit.

        ``member`` is the user who makes a call billed to a pooled owner; the commit
        records the usage per member too (the quota is the owner's).
        """
        if tokens < 1:
            raise ValueError("a reservation needs at least one token")
        owner = as_owner(owner)
        self._check_member(owner, member)
        window = await self.window(owner)
        month = window.key
        if quota is not None and tokens > quota:
            raise self._refusal(await self.counted(owner, month), quota, tokens, window)
        key = counter_key(owner, month)
        if await self.store.get(key) is None:
            await self._rebuild(owner, window)
        ttl = self._counter_ttl(window)
        if quota is None:
            await self.store.incr(key, tokens, ttl)
        else:
            # Check and add in one atomic step: a refused reservation never shows in the
            # counter, so it can neither pass the quota nor make a concurrent one fail.
            added, total = await self.store.incr_within(key, tokens, quota, ttl)
            if not added:
                raise self._refusal(total, quota, tokens, window)
        return Reservation(owner=owner, month=month, tokens=tokens, member=member)

    async def commit(
        self, reservation: Reservation, model: str, prompt_tokens: int, completion_tokens: int
    ) -> None:
        """Charge what the call really used (in the reservation's month) and free the rest.

        What the provider reported is charged even when it is more than was reserved
        (it is what the provider bills); that is logged, as the counter may then pass
        the quota by the excess.
        """
        self._settle(reservation)
        actual = prompt_tokens + completion_tokens
        if actual > reservation.tokens:
            logger.warning(
                "AI call of %s (%s) was charged %s tokens, more than the %s reserved; "
                "the quota counter may pass the quota by the difference",
                reservation.owner,
                model,
                actual,
                reservation.tokens,
            )
        try:
            await self._upsert(
                reservation.owner,
                reservation.month,
                model,
                prompt_tokens,
                completion_tokens,
                reservation.member,
            )
        finally:
            await self._adjust(reservation.owner, reservation.month, actual - reservation.tokens)

    async def release(self, reservation: Reservation) -> None:
        """Give the whole reservation back: the call failed and costs the user nothing."""
        self._settle(reservation)
        await self._adjust(reservation.owner, reservation.month, -reservation.tokens)

    async def record(
        self,
        owner: Owner | int,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        *,
        member: int | None = None,
    ) -> None:
        """Charge a call that was made without a reservation (no quota check).

        ``member``: the user who made a call billed to a pooled owner (see :meth:`reserve`).
        """
        owner = as_owner(owner)
        self._check_member(owner, member)
        month = (await self.window(owner)).key
        try:
            await self._upsert(owner, month, model, prompt_tokens, completion_tokens, member)
        finally:
            await self._adjust(owner, month, prompt_tokens + completion_tokens)

    async def usage(self, owner: Owner | int, month: str | None = None) -> MonthlyUsage:
        """Recorded usage of ``owner`` in ``month`` (default: the current window), per model.

        A report: it may read a replica, so a call finished a moment ago may show late
        (quotas never read this; they use the store counter and the primary).
        """
        owner = as_owner(owner)
        window = await self._window_of(owner, month)
        month = window.key
        table = self.model
        query = (
            select(table.model, table.prompt_tokens, table.completion_tokens, table.requests)
            .where(owned_by(table, owner), table.month == month)
            .order_by(table.model)
        )

        async def read(db: AsyncSession) -> list[ModelUsage]:
            return [ModelUsage(*row) for row in await db.execute(query)]

        models = await self.reads.run(read)
        user_id = owner.id if owner.kind == "user" else None
        return MonthlyUsage(
            user_id=user_id, month=month, models=models, owner=owner, reset=window.resets_at
        )

    async def pooled_usage(self, owner: Owner, month: str | None = None) -> PooledUsage:
        """A pooled owner's recorded month (default: this one): total and per member.

        Both are read in one transaction (a replica's, when one is configured), so the
        members' shares and the total agree.
        """
        members = self.members
        if members is None:
            raise RuntimeError("this meter records no usage per member")
        window = await self._window_of(owner, month)
        month = window.key
        table = self.model
        totals = (
            select(table.model, table.prompt_tokens, table.completion_tokens, table.requests)
            .where(owned_by(table, owner), table.month == month)
            .order_by(table.model)
        )
        shares = (
            select(
                members.user_id,
                members.model,
                func.sum(members.prompt_tokens),
                func.sum(members.completion_tokens),
                func.sum(members.requests),
            )
            .where(
                members.owner_kind == owner.kind,
                members.owner_id == owner.id,
                members.month == month,
            )
            .group_by(members.user_id, members.model)
            .order_by(members.user_id, members.model)
        )

        async def read(db: AsyncSession) -> PooledUsage:
            models = [ModelUsage(*row) for row in await db.execute(totals)]
            per_member: dict[int | None, list[ModelUsage]] = {}
            for user_id, model, prompt, completion, requests in await db.execute(shares):
                usage = ModelUsage(model, int(prompt), int(completion), int(requests))
                per_member.setdefault(user_id, []).append(usage)
            shared = [MemberUsage(user_id, used) for user_id, used in per_member.items()]
            shared.sort(key=lambda m: (-m.total_tokens, m.user_id is None, m.user_id or 0))
            total = MonthlyUsage(
                user_id=None, month=month, models=models, owner=owner, reset=window.resets_at
            )
            return PooledUsage(total=total, members=shared)

        return await self.reads.run(read)

    async def daily_usage(
        self,
        owner: Owner | int | None = None,
        *,
        since: date,
        until: date | None = None,
    ) -> list[DailyUsage]:
        """Recorded tokens per UTC day and model from ``since`` to ``until`` (included).

        ``owner``'s (``None``: every owner's added up, what the admin console charts).
        Days without usage have no entry. A report: it may read a replica, like
        :meth:`usage`. Each call counts on the day it was charged (see
        :class:`~saaskit.ai.models.AIDailyUsageMixin`).
        """
        daily = self.daily
        if daily is None:
            raise RuntimeError("this meter records no usage per day")
        query = daily_usage_query(daily, since, until, None if owner is None else as_owner(owner))

        async def read(db: AsyncSession) -> list[DailyUsage]:
            return await daily_rows(db, query)

        return await self.reads.run(read)

    async def counted(self, owner: Owner | int, month: str | None = None) -> int:
        """The store counter: tokens used plus tokens reserved by calls in flight."""
        owner = as_owner(owner)
        month = month or (await self.window(owner)).key
        value = await self.store.get(counter_key(owner, month))
        return int(value) if value is not None else (await self._recorded(owner, month))

    # -- internals ---------------------------------------------------------------

    def _check_member(self, owner: Owner, member: int | None) -> None:
        if member is None:
            return
        if owner.kind == "user":
            raise ValueError("usage per member is for pooled owners, not users")
        if self.members is None:
            raise RuntimeError("this meter records no usage per member")

    @staticmethod
    def _settle(reservation: Reservation) -> None:
        if reservation.settled:
            raise RuntimeError("this reservation was already committed or released")
        reservation.settled = True

    def _refusal(self, used: int, quota: int, tokens: int, window: UsageWindow) -> AIQuotaExceeded:
        resets_at = window.resets_at
        wait = math.ceil((resets_at - self.clock()).total_seconds())
        if wait <= 0:  # a billing period whose renewal has not synced yet: try again soon
            wait = 60
        return AIQuotaExceeded(
            used=used, quota=quota, requested=tokens, resets_at=resets_at, retry_after=wait
        )

    def _counter_ttl(self, window: UsageWindow) -> int:
        remaining = window.resets_at + _COUNTER_GRACE - self.clock()
        return max(60, math.ceil(remaining.total_seconds()))

    async def _adjust(self, owner: Owner, month: str, delta: int) -> None:
        # A missing counter is left alone: the next reservation rebuilds it from the
        # table, which already holds this call (creating it here would drop the rest).
        key = counter_key(owner, month)
        if delta and await self.store.get(key) is not None:
            await self.store.incr(key, delta)

    async def _recorded(self, owner: Owner, month: str) -> int:
        table = self.model
        async with self.session_factory() as db:
            total = await db.scalar(
                select(
                    func.coalesce(func.sum(table.prompt_tokens + table.completion_tokens), 0)
                ).where(owned_by(table, owner), table.month == month)
            )
        return int(total or 0)

    async def _rebuild(self, owner: Owner, window: UsageWindow) -> None:
        # ``claim`` sets the counter only if nobody else rebuilt it meanwhile.
        recorded = await self._recorded(owner, window.key)
        await self.store.claim(
            counter_key(owner, window.key), self._counter_ttl(window), str(recorded).encode()
        )

    async def _upsert(
        self,
        owner: Owner,
        month: str,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        member: int | None = None,
    ) -> None:
        # One atomic statement (INSERT ... ON CONFLICT DO UPDATE), so concurrent calls
        # of an owner's first request of the month never collide. A user's row is keyed
        # by (user_id, month, model) as before owners, so rows an older kit wrote during
        # a rolling deploy are found (and given their owner columns) rather than doubled.
        recorder().ai_tokens(model, prompt_tokens, completion_tokens)
        table = self.model
        user = owner.kind == "user"
        values = {
            "owner_kind": owner.kind,
            "owner_id": owner.id,
            "user_id": owner.id if user else None,
            "month": month,
            "model": model,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "requests": 1,
        }
        keys: list[Any] = [table.user_id] if user else [table.owner_kind, table.owner_id]
        keys += [table.month, table.model]
        metered = self._outbox_row(owner, model, prompt_tokens + completion_tokens)
        shares: tuple[dict[str, Any], list[Any]] | None = None
        if member is not None and self.members is not None:
            members = self.members
            share = {**values, "user_id": member}
            share_keys = [
                members.owner_kind,
                members.owner_id,
                members.month,
                members.user_id,
                members.model,
            ]
            shares = (share, share_keys)
        # The day's row: the clock's day now, when the call is charged (a call reserved
        # late on a month's last day counts in that month, but on the day it ended).
        day: tuple[dict[str, Any], list[Any]] | None = None
        if self.daily is not None and time.monotonic() >= self._daily_paused_until:
            daily = self.daily
            day_values = {
                "owner_kind": owner.kind,
                "owner_id": owner.id,
                "user_id": owner.id if user else None,
                "day": day_of(self.clock()),
                "model": model,
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "requests": 1,
            }
            day = (day_values, [daily.owner_kind, daily.owner_id, daily.day, daily.model])
        # The table has two unique keys, and PostgreSQL's ON CONFLICT arbitrates one: when
        # two first writes of a month race, the loser can hit the other key (a unique
        # violation instead of the update). Its second try sees the winner's row, committed,
        # and adds to it, so no usage is lost. The day's row is in the same transaction, so
        # a failed try adds nothing to it either (its one key is arbitrated, never raced).
        failed = 0
        while True:
            try:
                await self._upsert_once(values, keys, shares, metered, day=day)
                if metered is not None and self.outbox is not None:
                    await self._metered()
                return
            except IntegrityError:
                failed += 1
                if failed == _UPSERT_ATTEMPTS:
                    raise
                logger.info("AI usage write raced another first write; trying again")
            except (ProgrammingError, OperationalError) as error:
                # The code runs before its migration (0017): the call is paid for, so its
                # month (quota, billing) must not be lost for want of the chart's table.
                # Not counted as an attempt; day rows are tried again after a pause.
                if day is None or self.daily is None or not _daily_missing(error, self.daily):
                    raise
                logger.error(
                    "the %s table is missing (run `saaskit migrate`); AI usage is recorded "
                    "per month only, day rows are tried again in %s s",
                    self.daily.__table__.name,  # type: ignore[attr-defined]
                    _DAILY_PAUSE_SECONDS,
                )
                self._daily_paused_until = time.monotonic() + _DAILY_PAUSE_SECONDS
                day = None

    async def _upsert_once(
        self,
        values: dict[str, Any],
        keys: list[Any],
        shares: tuple[dict[str, Any], list[Any]] | None = None,
        metered: dict[str, Any] | None = None,
        *,
        day: tuple[dict[str, Any], list[Any]] | None = None,
    ) -> None:
        # The owner's row, its day's row, the member's share and the meter's outbox row
        # commit together: they always agree. Every call writes the tables in this same
        # order (month, day, member), so two transactions never wait on each other in a
        # cycle on PostgreSQL.
        # Core statements on the session's connection: the ORM adds nothing to them.
        async with self.session_factory() as db:
            conn = await db.connection()
            dialect = conn.dialect.name
            await conn.execute(self._upsert_statement(dialect, self.model, keys), values)
            if day is not None and self.daily is not None:
                day_values, day_keys = day
                statement = self._upsert_statement(dialect, self.daily, day_keys)
                await conn.execute(statement, day_values)
            if shares is not None and self.members is not None:
                share, share_keys = shares
                await conn.execute(self._upsert_statement(dialect, self.members, share_keys), share)
            if metered is not None and self.outbox is not None:
                await conn.execute(insert(self.outbox.__table__), metered)  # type: ignore[attr-defined]
            await db.commit()

    async def _metered(self) -> None:
        if self.on_metered is None:
            return
        try:
            await self.on_metered()
        except Exception:
            # The row is safe in the outbox: the next flush (scheduled) sends it.
            logger.warning("could not queue the AI meter flush", exc_info=True)

    def credits(self, model: str, tokens: int) -> int:
        """``tokens`` of ``model`` in credits: times its weight (``ai.model_weights``), up."""
        weight = self.weights.get(model, 1)
        return math.ceil(Decimal(str(weight)) * tokens)

    def _outbox_row(self, owner: Owner, model: str, tokens: int) -> dict[str, Any] | None:
        if self.outbox is None or self.meter_event_name is None:
            return None
        value = self.credits(model, tokens)
        if value <= 0:
            return None  # nothing to bill
        now = self.clock()
        return {
            "owner_kind": owner.kind,
            "owner_id": owner.id,
            "event_name": self.meter_event_name,
            "model": model,
            "value": value,
            "occurred_at": now,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        }

    def _upsert_statement(self, dialect: str, table: type[Any], keys: list[Any]) -> Executable:
        """The table's ``INSERT ... ON CONFLICT (keys) DO UPDATE`` adding the counts.

        Built once per table and key, on the Core table: each call then passes its values
        as parameters. Building the construct anew for every AI call cost about as much
        Python time as the database round trip itself.
        """
        core = table.__table__
        names = tuple(key.key for key in keys)
        cache_key = (dialect, core.fullname, names)  # the schema too, if any
        found = self._statements.get(cache_key)
        if found is not None:
            return found
        if dialect == "postgresql":
            pg_insert = postgresql.insert(core)
            found = pg_insert.on_conflict_do_update(
                index_elements=[core.c[name] for name in names],
                set_=_added(core.c, pg_insert.excluded),
            )
        elif dialect == "sqlite":
            lite_insert = sqlite.insert(core)
            found = lite_insert.on_conflict_do_update(
                index_elements=[core.c[name] for name in names],
                set_=_added(core.c, lite_insert.excluded),
            )
        else:  # pragma: no cover - saaskit supports PostgreSQL and SQLite
            raise NotImplementedError(f"AI metering does not support {dialect!r}")
        self._statements[cache_key] = found
        return found


def _daily_missing(error: DBAPIError, daily: type[Any]) -> bool:
    """Whether ``error`` is the day row's statement failing on its missing table.

    Only the database's message counts (the statement's text always names the table),
    and only when the failing statement is the day row's own.
    """
    name = str(daily.__table__.name)
    message = str(error.orig)
    return (
        name in (error.statement or "")
        and name in message
        and ("does not exist" in message or "no such table" in message)
    )


def _added(table: Any, excluded: Any) -> dict[str, Any]:
    return {
        "prompt_tokens": table.prompt_tokens + excluded.prompt_tokens,
        "completion_tokens": table.completion_tokens + excluded.completion_tokens,
        "requests": table.requests + 1,
        "updated_at": func.now(),
        "owner_kind": excluded.owner_kind,
        "owner_id": excluded.owner_id,
    }

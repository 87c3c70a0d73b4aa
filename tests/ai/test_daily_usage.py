"""AI usage per UTC day: written with the month's row, summed per day and model."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase

from saaskit import SaaSKit
from saaskit.ai.metering import DailyUsage, UsageMeter
from saaskit.ai.models import AIDailyUsageMixin
from saaskit.models import User
from saaskit.owners import Owner
from tests.ai.helpers import ask, new_user


def at(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def summed(rows: list[DailyUsage]) -> dict[tuple[str, str], tuple[int, int, int]]:
    return {(r.day, r.model): (r.prompt_tokens, r.completion_tokens, r.requests) for r in rows}


async def day_rows(kit: SaaSKit[User]) -> list[Any]:
    daily = kit.models.tables["ai_daily_usage"]
    async with kit.session_factory() as db:
        return list(await db.scalars(select(daily).order_by(daily.id)))


async def test_calls_on_two_days_are_summed_per_day_and_model(ai_kit: SaaSKit[User]) -> None:
    meter = ai_kit.ai.meter
    alice = await new_user(ai_kit)
    bob = await new_user(ai_kit, "bob@example.com")

    meter.clock = lambda: at(3, 0)  # the first second of the day counts on it
    await meter.record(alice, "gpt-4o-mini", 10, 5)
    meter.clock = lambda: at(3, 23)
    reservation = await meter.reserve(alice, 100, quota=None)
    await meter.commit(reservation, "gpt-4o-mini", 20, 10)
    await meter.record(alice, "claude-sonnet", 7, 3)
    await meter.record(bob, "gpt-4o-mini", 1, 1)
    meter.clock = lambda: at(4, 9)
    await meter.record(alice, "gpt-4o-mini", 2, 2)

    mine = await meter.daily_usage(alice, since=date(2026, 3, 1))
    assert summed(mine) == {
        ("2026-03-03", "claude-sonnet"): (7, 3, 1),
        ("2026-03-03", "gpt-4o-mini"): (30, 15, 2),
        ("2026-03-04", "gpt-4o-mini"): (2, 2, 1),
    }
    assert [r.total_tokens for r in mine] == [10, 45, 4]  # oldest first, then by model
    everyone = await meter.daily_usage(since=date(2026, 3, 3), until=date(2026, 3, 3))
    assert summed(everyone) == {
        ("2026-03-03", "claude-sonnet"): (7, 3, 1),
        ("2026-03-03", "gpt-4o-mini"): (31, 16, 3),  # Alice's and Bob's added up
    }
    assert await meter.daily_usage(alice, since=date(2026, 3, 5)) == []
    # The month's rows hold the same calls: the days add up to the month.
    month = await meter.usage(alice, "2026-03")
    assert month.total_tokens == sum(r.total_tokens for r in mine) == 59
    assert month.requests == sum(r.requests for r in mine) == 4


async def test_a_chat_writes_its_day(ai_kit: SaaSKit[User]) -> None:
    uid = await new_user(ai_kit)
    ai_kit.ai.meter.clock = lambda: at(9)

    reply = await ai_kit.ai.chat(uid, ask("Hi"))

    (row,) = await day_rows(ai_kit)
    assert (row.owner_kind, row.owner_id, row.user_id, row.day) == ("user", uid, uid, "2026-03-09")
    assert (row.total_tokens, row.requests) == (reply.usage.total_tokens, 1)


async def test_a_call_reserved_before_midnight_counts_on_the_day_it_is_charged(
    ai_kit: SaaSKit[User],
) -> None:
    meter = ai_kit.ai.meter
    uid = await new_user(ai_kit)
    meter.clock = lambda: datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)
    reservation = await meter.reserve(uid, 100, quota=None)

    meter.clock = lambda: datetime(2026, 2, 1, 0, 0, 1, tzinfo=UTC)
    await meter.commit(reservation, "gpt-4o-mini", 40, 40)

    assert (await meter.usage(uid, "2026-01")).total_tokens == 80  # the reservation's month
    assert summed(await meter.daily_usage(uid, since=date(2026, 1, 1))) == {
        ("2026-02-01", "gpt-4o-mini"): (40, 40, 1)  # the day it was charged
    }


async def test_concurrent_first_calls_of_a_day_are_all_counted(ai_kit: SaaSKit[User]) -> None:
    # Every write of the day after the first updates the first one's row: on PostgreSQL
    # the racing inserts wait for it (one unique key, arbitrated by ON CONFLICT).
    meter = ai_kit.ai.meter
    uids = [await new_user(ai_kit, f"racer{index}@example.com") for index in range(4)]
    meter.clock = lambda: at(4)  # the month's rows exist; the 5th's do not yet
    for uid in uids:
        await meter.record(uid, "gpt-4o-mini", 1, 0)
    meter.clock = lambda: at(5)

    await asyncio.gather(
        *(
            meter.record(uid, model, 3, 4)
            for uid in uids
            for model in ("gpt-4o-mini", "claude-sonnet")
            for _ in range(6)
        )
    )

    rows = [r for r in await day_rows(ai_kit) if r.day == "2026-03-05"]
    assert sorted((r.owner_id, r.model, r.requests, r.total_tokens) for r in rows) == sorted(
        (uid, model, 6, 42) for uid in uids for model in ("gpt-4o-mini", "claude-sonnet")
    )
    for uid in uids:  # the month's rows counted every call too
        assert (await meter.usage(uid, "2026-03")).requests == 13
    assert summed(await meter.daily_usage(since=date(2026, 3, 5))) == {
        ("2026-03-05", "claude-sonnet"): (72, 96, 24),
        ("2026-03-05", "gpt-4o-mini"): (72, 96, 24),
    }


async def test_an_organization_s_day_is_its_own_not_its_members(ai_kit: SaaSKit[User]) -> None:
    meter: UsageMeter = ai_kit.ai.meter
    meter.clock = lambda: at(6)
    member = await new_user(ai_kit)
    org = Owner("organization", 41)

    await meter.record(org, "gpt-4o-mini", 5, 5, member=member)

    (row,) = await day_rows(ai_kit)
    assert (row.owner_kind, row.owner_id, row.user_id) == ("organization", 41, None)
    assert await meter.daily_usage(member, since=date(2026, 3, 1)) == []
    assert summed(await meter.daily_usage(org, since=date(2026, 3, 1))) == {
        ("2026-03-06", "gpt-4o-mini"): (5, 5, 1)
    }


class _Elsewhere(DeclarativeBase):
    """A metadata of its own: its table is never created (the migration not run)."""


class _MissingDaily(AIDailyUsageMixin, _Elsewhere):
    __tablename__ = "ai_daily_usage_not_migrated"


async def test_a_missing_daily_table_never_loses_the_months_usage(
    ai_kit: SaaSKit[User], caplog: Any
) -> None:
    """Code deployed before its migration: the chart's table is missing, but the call was
    paid for, so the month's row (quota, billing) is still written."""
    alice = await new_user(ai_kit)
    real = ai_kit.ai.meter
    meter = UsageMeter(real.model, real.session_factory, real.store, daily=_MissingDaily)

    await meter.record(alice, "gpt-4o-mini", 10, 5)
    reservation = await meter.reserve(alice, 100, quota=None)
    await meter.commit(reservation, "gpt-4o-mini", 20, 10)

    month = await meter.usage(alice)
    assert (month.total_tokens, month.requests) == (45, 2)
    assert "ai_daily_usage_not_migrated table is missing" in caplog.text
    assert meter.daily is _MissingDaily  # the reports still read it; writes pause a while


async def test_the_fallback_is_not_a_lost_attempt_of_a_raced_write(
    ai_kit: SaaSKit[User],
) -> None:
    """Two lost unique-key races and a missing day table: the month is still written."""
    alice = await new_user(ai_kit)
    real = ai_kit.ai.meter
    meter = UsageMeter(real.model, real.session_factory, real.store, daily=_MissingDaily)
    races = [IntegrityError("INSERT INTO ai_usage", {}, Exception("unique violation"))] * 2

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AI_USAGE ") and races:
            raise races.pop()

    engine = ai_kit.engine.sync_engine
    event.listen(engine, "after_cursor_execute", after)
    try:
        await meter.record(alice, "gpt-4o-mini", 10, 5)
    finally:
        event.remove(engine, "after_cursor_execute", after)

    month = await meter.usage(alice)
    assert (month.total_tokens, month.requests) == (15, 1)
    assert races == []

"""The usage meter: reservations against quotas, the durable table, the store counter."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from saaskit import SaaSKit
from saaskit.ai.estimate import estimate_prompt_tokens
from saaskit.ai.metering import UsageMeter, counter_key, month_of, month_reset
from saaskit.exceptions import AIQuotaExceeded
from saaskit.models import AIUsage, User
from saaskit.store import Store, create_store
from saaskit.testing import FakeOpenAI
from tests.ai.helpers import AIKitFactory, ask, new_user
from tests.helpers import TEST_REDIS_URL
from tests.helpers import make_settings as settings_for


@pytest.fixture
async def meter(ai_kit: SaaSKit[User]) -> UsageMeter:
    return ai_kit.ai.meter


async def test_reserve_commit_and_release(ai_kit: SaaSKit[User], meter: UsageMeter) -> None:
    uid = await new_user(ai_kit)

    first = await meter.reserve(uid, 100, quota=1000)
    assert await meter.counted(uid) == 100
    await meter.commit(first, "gpt-4o-mini", 20, 30)
    assert await meter.counted(uid) == 50

    second = await meter.reserve(uid, 100, quota=1000)
    await meter.release(second)
    assert await meter.counted(uid) == 50

    usage = await meter.usage(uid)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.requests) == (20, 30, 1)
    with pytest.raises(RuntimeError, match="already"):
        await meter.release(second)
    with pytest.raises(RuntimeError, match="already"):
        await meter.commit(first, "gpt-4o-mini", 1, 1)
    with pytest.raises(ValueError, match="one token"):
        await meter.reserve(uid, 0, quota=None)


async def test_refusal_reports_usage_and_reset(ai_kit: SaaSKit[User], meter: UsageMeter) -> None:
    uid = await new_user(ai_kit)
    meter.clock = lambda: datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    await meter.record(uid, "gpt-4o-mini", 900, 50)

    with pytest.raises(AIQuotaExceeded) as caught:
        await meter.reserve(uid, 51, quota=1000)

    error = caught.value
    assert (error.used, error.quota, error.requested) == (950, 1000, 51)
    assert error.resets_at == datetime(2027, 1, 1, tzinfo=UTC)
    assert error.retry_after == 3600
    assert "2027-01-01" in error.message
    assert await meter.counted(uid) == 950
    await meter.reserve(uid, 50, quota=1000)  # exactly fits


async def test_counter_is_rebuilt_from_the_table_after_a_cache_loss(
    ai_kit: SaaSKit[User], meter: UsageMeter
) -> None:
    uid = await new_user(ai_kit)
    await meter.record(uid, "gpt-4o-mini", 600, 300)
    await meter.record(uid, "gpt-4o", 50, 0)

    await ai_kit.store.delete(counter_key(uid, meter.current_month()))  # Redis flushed

    assert await meter.counted(uid) == 950  # read from the table meanwhile
    with pytest.raises(AIQuotaExceeded):
        await meter.reserve(uid, 100, quota=1000)
    reservation = await meter.reserve(uid, 50, quota=1000)
    assert await ai_kit.store.get(counter_key(uid, meter.current_month())) == b"1000"
    await meter.release(reservation)


async def test_settling_without_a_counter_leaves_the_rebuild_to_the_table(
    ai_kit: SaaSKit[User], meter: UsageMeter
) -> None:
    uid = await new_user(ai_kit)
    reservation = await meter.reserve(uid, 100, quota=None)
    await ai_kit.store.delete(counter_key(uid, meter.current_month()))

    await meter.commit(reservation, "gpt-4o-mini", 10, 10)

    # No negative counter was created; the next reservation starts from the table.
    assert await ai_kit.store.get(counter_key(uid, meter.current_month())) is None
    await meter.reserve(uid, 5, quota=None)
    assert await meter.counted(uid) == 25


async def test_usage_is_kept_per_month(ai_kit: SaaSKit[User], meter: UsageMeter) -> None:
    uid = await new_user(ai_kit)
    meter.clock = lambda: datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)
    reservation = await meter.reserve(uid, 100, quota=150)

    meter.clock = lambda: datetime(2026, 2, 1, 0, 0, 1, tzinfo=UTC)
    await meter.commit(reservation, "gpt-4o-mini", 40, 40)  # lands in January
    await meter.reserve(uid, 150, quota=150)  # February starts empty

    january = await meter.usage(uid, "2026-01")
    assert january.total_tokens == 80
    assert january.resets_at == datetime(2026, 2, 1, tzinfo=UTC)
    assert (await meter.usage(uid)).total_tokens == 0
    assert await meter.counted(uid, "2026-01") == 80
    assert month_of(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == "2026-12"
    assert month_reset("2026-12") == datetime(2027, 1, 1, tzinfo=UTC)


async def test_concurrent_first_calls_upsert_one_row(
    ai_kit: SaaSKit[User], meter: UsageMeter
) -> None:
    uid = await new_user(ai_kit)

    await asyncio.gather(*(meter.record(uid, "gpt-4o-mini", 3, 4) for _ in range(10)))

    async with ai_kit.session_factory() as db:
        rows = (await db.execute(select(AIUsage).where(AIUsage.user_id == uid))).scalars().all()
    assert len(rows) == 1
    (row,) = rows
    assert (row.prompt_tokens, row.completion_tokens, row.requests) == (30, 40, 10)
    assert row.total_tokens == 70
    assert row.updated_at is not None


async def test_many_owners_first_writes_racing_lose_no_usage(
    ai_kit: SaaSKit[User], meter: UsageMeter
) -> None:
    # On PostgreSQL the loser of a first-write race could hit the table's second unique
    # key and drop its usage; every write must count.
    uids = [await new_user(ai_kit, f"racer{index}@example.com") for index in range(8)]

    await asyncio.gather(
        *(meter.record(uid, "gpt-4o-mini", 1, 2) for uid in uids for _ in range(6))
    )

    async with ai_kit.session_factory() as db:
        rows = (await db.execute(select(AIUsage).where(AIUsage.user_id.in_(uids)))).scalars().all()
    assert sorted((row.user_id, row.requests, row.total_tokens) for row in rows) == sorted(
        (uid, 6, 18) for uid in uids
    )


async def test_a_usage_write_that_loses_a_unique_key_race_is_tried_again(
    ai_kit: SaaSKit[User], meter: UsageMeter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The race is inside one PostgreSQL statement (between its conflict check and its
    # index insert), so it cannot be timed from outside: the first try fails as the loser
    # of that race does.
    # The failure comes after the month's and the day's rows were written, inside the
    # transaction: its rollback must take both back, or the retry would count them twice.
    uid = await new_user(ai_kit)
    failures = [IntegrityError("INSERT INTO ai_usage", {}, Exception("unique violation"))]
    written: list[str] = []

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AI_"):
            written.append(statement.split()[2])
        if failures and "ai_daily_usage" in written:
            raise failures.pop()

    engine = ai_kit.engine.sync_engine
    event.listen(engine, "after_cursor_execute", after)
    try:
        await meter.record(uid, "gpt-4o-mini", 3, 4)
    finally:
        event.remove(engine, "after_cursor_execute", after)
    assert written[:2] == ["ai_usage", "ai_daily_usage"]  # both written, then the failure
    assert written.count("ai_daily_usage") == 2  # and the retry wrote them again

    daily = ai_kit.models.tables["ai_daily_usage"]
    async with ai_kit.session_factory() as db:
        row = (await db.execute(select(AIUsage).where(AIUsage.user_id == uid))).scalar_one()
        day = (await db.execute(select(daily).where(daily.user_id == uid))).scalar_one()
    assert (row.requests, row.total_tokens) == (1, 7)
    assert (day.requests, day.total_tokens) == (1, 7)  # the failed try added nothing
    assert failures == []


async def test_concurrent_chats_never_pass_the_quota(
    make_ai_kit: AIKitFactory, fake_openai: FakeOpenAI
) -> None:
    kit = await make_ai_kit(default_monthly_tokens=100, max_tokens=20)
    uid = await new_user(kit)
    fake_openai.delay_next(0.3, times=20)  # all twenty are in flight together

    results = await asyncio.gather(
        *(kit.ai.chat(uid, ask("Hi")) for _ in range(20)), return_exceptions=True
    )

    answered = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, AIQuotaExceeded)]
    assert len(answered) + len(refused) == 20
    reservation = estimate_prompt_tokens(ask("Hi")) + 20
    assert len(answered) == 100 // reservation  # as many reservations as fit in 100
    assert len(fake_openai.chat_requests) == len(answered)
    used = (await kit.ai.usage(uid)).used_tokens
    assert used == 8 * len(answered) <= 100
    assert await kit.ai.meter.counted(uid) == used  # every reservation settled


@pytest.fixture
async def two_instances(
    database_url: str, fake_openai: FakeOpenAI
) -> AsyncIterator[tuple[SaaSKit[User], SaaSKit[User]]]:
    """Two app instances on one database and one shared store (Redis when configured)."""
    prefix = f"test:{uuid.uuid4().hex}:"

    def shared_store() -> Store:
        if TEST_REDIS_URL:
            from saaskit.store.redis import RedisStore

            return RedisStore(TEST_REDIS_URL, prefix=prefix)
        return memory

    memory = create_store(None)
    ai = fake_openai.ai_settings(max_tokens=20, default_monthly_tokens=200)
    settings = settings_for(database_url, ai=ai)
    kits = (SaaSKit(settings, store=shared_store()), SaaSKit(settings, store=shared_store()))
    yield kits
    for kit in kits:
        await kit.aclose()


async def test_instances_sharing_a_store_share_the_quota(
    two_instances: tuple[SaaSKit[User], SaaSKit[User]], fake_openai: FakeOpenAI
) -> None:
    first, second = two_instances
    uid = await new_user(first)
    fake_openai.hold()  # every call that gets past its reservation waits in the fake

    chats = [
        asyncio.ensure_future(kit.ai.chat(uid, ask("Hi")))
        for kit in (first, second)
        for _ in range(15)
    ]
    # Until each call is either refused or waiting in the fake, so all reservations are
    # held at once (no answer can hand tokens back early, however slow the machine).
    for _ in range(100_000):
        if sum(chat.done() for chat in chats) + fake_openai.held == len(chats):
            break
        await asyncio.sleep(0.001)
    fake_openai.release()
    results = await asyncio.gather(*chats, return_exceptions=True)

    answered = [r for r in results if not isinstance(r, BaseException)]
    assert all(isinstance(r, AIQuotaExceeded) for r in results if isinstance(r, BaseException))
    reservation = estimate_prompt_tokens(ask("Hi")) + 20
    assert len(answered) == 200 // reservation  # as many as fit in 200, across both instances
    assert (await second.ai.usage(uid)).used_tokens == 8 * len(answered)


async def test_a_failed_usage_write_still_charges_the_quota(
    ai_kit: SaaSKit[User],
    meter: UsageMeter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    uid = await new_user(ai_kit)

    async def broken(*args: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(meter, "_upsert", broken)
    with caplog.at_level(logging.ERROR, logger="saaskit.ai"):
        reply = await ai_kit.ai.chat(uid, ask("Hi"))

    assert reply.usage.total_tokens == 8
    assert await meter.counted(uid) == 8
    assert "could not record AI usage" in caplog.text


async def test_deleting_a_user_deletes_their_usage(
    ai_kit: SaaSKit[User], meter: UsageMeter
) -> None:
    uid = await new_user(ai_kit)
    await meter.record(uid, "gpt-4o-mini", 1, 1)

    daily = ai_kit.models.tables["ai_daily_usage"]
    async with ai_kit.session_factory() as db:
        assert await db.scalar(select(func.count()).select_from(daily)) == 1

    await ai_kit.users.delete(uid)

    async with ai_kit.session_factory() as db:
        count = await db.scalar(select(func.count()).select_from(AIUsage))
        days = await db.scalar(select(func.count()).select_from(daily))
    assert count == 0
    assert days == 0


async def test_host_metered_calls(make_ai_kit: AIKitFactory) -> None:
    kit = await make_ai_kit(default_monthly_tokens=1000)
    uid = await new_user(kit)
    kit_ai, meter = kit.ai, kit.ai.meter

    async with kit_ai.metered(uid, estimate=500) as call:
        assert await meter.counted(uid) == 500
        await call.commit("text-embedding-3-small", 120, 0)
    assert call.committed
    assert await meter.counted(uid) == 120

    with pytest.raises(ZeroDivisionError):
        async with kit_ai.metered(uid, estimate=500):
            _ = 1 / 0
    async with kit_ai.metered(uid, estimate=500):
        pass  # no commit: nothing charged
    assert await meter.counted(uid) == 120

    with pytest.raises(AIQuotaExceeded):
        async with kit_ai.metered(uid, estimate=900):
            pytest.fail("the block must not run over the quota")

    await kit_ai.record_usage(uid, "claude-sonnet", 400, 400)
    usage = await kit_ai.usage(uid)
    assert [m.model for m in usage.models] == ["claude-sonnet", "text-embedding-3-small"]
    assert usage.remaining_tokens == 80
    with pytest.raises(AIQuotaExceeded):
        await kit_ai.chat(uid, ask("Hi"))


async def test_store_counter_continues_a_value_written_by_claim(ai_kit: SaaSKit[User]) -> None:
    """The rebuild writes the counter with ``claim``; ``incr`` must add to it (as Redis
    INCRBY does), on both stores."""
    assert await ai_kit.store.claim("ai-test-counter", 60, b"40")
    assert await ai_kit.store.incr("ai-test-counter", 2) == 42
    assert await ai_kit.store.incr("ai-test-counter", -50) == -8
    assert await ai_kit.store.get("ai-test-counter") == b"-8"

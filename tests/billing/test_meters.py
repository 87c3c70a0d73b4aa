"""Usage-based billing: AI usage reaches Stripe billing meter events exactly once.

End to end: chats on the fake OpenAI server, the usage ledger and its outbox in the
database under test, meter events sent with the real ``stripe`` SDK to the fake Stripe
(which refuses repeated identifiers and out-of-range timestamps as Stripe does).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
import stripe
from sqlalchemy import select

from saaskit import SaaSKit
from saaskit.ai.meters import (
    FLUSH_METERS,
    FlushMeters,
    MeterReporter,
    MeterSink,
    identifier_of,
)
from saaskit.ai.models import AIMeterOutboxMixin
from saaskit.billing.http import build_http_client
from saaskit.models import User
from saaskit.owners import Owner
from saaskit.tasks.runner import InProcessRunner
from saaskit.tasks.typed import enqueue
from saaskit.testing import FakeOpenAI
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.openai_pytest import fake_openai  # noqa: F401 - a fixture
from tests.ai.helpers import REPLY, ask
from tests.billing.helpers import add_prices, billing_settings
from tests.helpers import PASSWORD, KitFactory

EVENT = "ai_credits"
PATH = "/v1/billing/meter_events"

MeteredKits = Callable[..., Awaitable[SaaSKit[User]]]


@pytest.fixture(autouse=True)
def fixed_reply(fake_openai: FakeOpenAI) -> None:  # noqa: F811 - the imported fixture
    fake_openai.reply = REPLY


@pytest.fixture
def make_metered(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,
    fake_openai: FakeOpenAI,  # noqa: F811 - the imported fixture
) -> MeteredKits:
    """``await make_metered(**ai)``: a kit with billing on the fake Stripe and metered AI.

    Flushes are left to the test (no flush is queued after each call) unless
    ``auto_flush=True``.
    """
    add_prices(fake_stripe)

    async def factory(*, auto_flush: bool = False, **ai: Any) -> SaaSKit[User]:
        settings = {"meter_event_name": EVENT, **ai}
        kit = await make_kit(
            billing=billing_settings(fake_stripe, create_customer_on_register=False),
            ai=fake_openai.ai_settings(**settings),
        )
        if not auto_flush:
            kit.ai.meter.on_metered = None
        return kit

    return factory


async def customer(kit: SaaSKit[User], email: str = "alice@example.com") -> tuple[int, str]:
    user = await kit.users.create(email, PASSWORD)
    return user.id, await kit.billing.customers.ensure(Owner.user(user.id))


async def outbox(kit: SaaSKit[User]) -> list[AIMeterOutboxMixin]:
    table: type[AIMeterOutboxMixin] = kit.models.tables["ai_meter_outbox"]
    async with kit.session_factory() as db:
        return list(await db.scalars(select(table).order_by(table.id)))


async def tokens_of(kit: SaaSKit[User], user_id: int) -> int:
    return (await kit.ai.usage(user_id)).used_tokens


def meter_calls(fake: FakeStripe) -> list[Any]:
    return fake.calls("POST", PATH)


class CrashAfterSend:
    """A worker killed after Stripe accepted the event, before the outbox row was marked."""

    def __init__(self, sink: MeterSink) -> None:
        self.sink = sink

    async def send_meter_event(self, **event: Any) -> bool:
        await self.sink.send_meter_event(**event)
        raise KeyboardInterrupt  # not an error the reporter handles: the process dies


async def test_usage_reaches_meter_events_exactly_once_across_an_outage_and_a_restart(
    make_metered: MeteredKits, fake_stripe: FakeStripe
) -> None:
    kit = await make_metered()
    user_id, customer_id = await customer(kit)
    for _ in range(3):
        await kit.ai.chat(user_id, ask(), max_tokens=50)
    rows = await outbox(kit)
    assert [r.status for r in rows] == ["pending"] * 3  # written with the usage

    # Stripe is down (a 500, then a dropped connection): nothing is lost.
    fake_stripe.fail_next(500, path=PATH)
    first = await kit.meters.flush()
    assert (first.sent, first.deferred) == (0, 1)  # stopped at the outage
    fake_stripe.fail_next(path=PATH, disconnect=True)
    later = kit.meters.clock() + timedelta(minutes=2)
    kit.meters.clock = lambda: later
    assert (await kit.meters.flush()).deferred == 1
    assert fake_stripe.meter_events() == []
    assert [r.status for r in await outbox(kit)] == ["pending"] * 3

    # Stripe is back; the worker dies right after Stripe accepted the first event.
    dying = MeterReporter(
        kit.meters.outbox,
        kit.session_factory,
        CrashAfterSend(kit.billing.gateway),  # type: ignore[arg-type]
        kit.billing.customers.customer_id,
        clock=lambda: later + timedelta(minutes=5),
    )
    with pytest.raises(KeyboardInterrupt):
        await dying.flush()
    assert len(fake_stripe.meter_events()) == 1
    await kit.aclose()

    # A new worker (another kit on the same database) picks the outbox up once the dead
    # worker's claim lapsed: the event Stripe has is not sent twice, the rest go out.
    worker = await make_metered()
    worker.meters.clock = lambda: later + timedelta(minutes=20)
    result = await worker.meters.flush()
    assert (result.sent, result.deferred) == (3, 0)
    assert [r.status for r in await outbox(worker)] == ["sent"] * 3
    # The first row went out twice under one identifier (and idempotency key): Stripe
    # replayed its answer instead of counting it again.
    first_id = identifier_of((await outbox(worker))[0])
    resent = [c for c in meter_calls(fake_stripe) if c.params["identifier"] == first_id]
    assert [c.status for c in resent][-2:] == [200, 200]
    events = fake_stripe.meter_events(EVENT)
    assert len(events) == 3
    assert len({e["identifier"] for e in events}) == 3
    assert fake_stripe.metered(customer_id, EVENT) == await tokens_of(worker, user_id)
    # A further flush has nothing to send.
    assert (await worker.meters.flush()).sent == 0
    assert len(fake_stripe.meter_events()) == 3


async def test_each_event_has_a_deterministic_identifier_reused_by_its_retries(
    make_metered: MeteredKits, fake_stripe: FakeStripe
) -> None:
    kit = await make_metered()
    user_id, customer_id = await customer(kit)
    await kit.ai.chat(user_id, ask(), max_tokens=50)
    fake_stripe.fail_next(503, path=PATH)
    assert (await kit.meters.flush()).deferred == 1
    now = kit.meters.clock()
    kit.meters.clock = lambda: now + timedelta(seconds=31)  # the first backoff: 30 s
    assert (await kit.meters.flush()).sent == 1
    (row,) = await outbox(kit)
    expected = f"saaskit-user-{user_id}-{row.id}"
    assert identifier_of(row) == expected
    calls = meter_calls(fake_stripe)
    assert [c.params["identifier"] for c in calls] == [expected, expected]
    assert [c.idempotency_key for c in calls] == [expected, expected]
    (event,) = fake_stripe.meter_events()
    assert event["payload"] == {
        "stripe_customer_id": customer_id,
        "value": str(await tokens_of(kit, user_id)),
    }
    assert event["timestamp"] == int(row.occurred_at.replace(tzinfo=UTC).timestamp())
    assert row.attempts == 2


async def test_an_identifier_stripe_already_has_counts_as_delivered(
    make_metered: MeteredKits, fake_stripe: FakeStripe
) -> None:
    # The idempotency key forgotten (Stripe keeps keys 24 hours), the identifier not:
    # Stripe refuses the repeat, and the row is marked sent, not failed.
    kit = await make_metered()
    user_id, customer_id = await customer(kit)
    await kit.ai.record_usage(user_id, "gpt-4o-mini", 10, 5)
    dying = MeterReporter(
        kit.meters.outbox,
        kit.session_factory,
        CrashAfterSend(kit.billing.gateway),  # type: ignore[arg-type]
        kit.billing.customers.customer_id,
    )
    with pytest.raises(KeyboardInterrupt):
        await dying.flush()
    fake_stripe.front.idempotent.clear()
    now = kit.meters.clock()
    kit.meters.clock = lambda: now + timedelta(minutes=6)
    result = await kit.meters.flush()
    assert (result.sent, result.duplicates, result.failed) == (1, 1, 0)
    statuses = [c.status for c in meter_calls(fake_stripe)]
    assert statuses == [200, 400]
    assert fake_stripe.metered(customer_id) == 15
    (row,) = await outbox(kit)
    assert (row.status, row.last_error) == ("sent", "duplicate")


async def test_a_row_is_not_retried_before_its_backoff(
    make_metered: MeteredKits, fake_stripe: FakeStripe
) -> None:
    kit = await make_metered()
    user_id, _ = await customer(kit)
    await kit.ai.chat(user_id, ask(), max_tokens=50)
    fake_stripe.fail_next(500, path=PATH)
    await kit.meters.flush()
    assert (await kit.meters.flush()).sent == 0  # not due yet
    assert len(meter_calls(fake_stripe)) == 1


async def test_flushes_send_in_batches_oldest_first(
    make_metered: MeteredKits, fake_stripe: FakeStripe
) -> None:
    kit = await make_metered()
    user_id, _ = await customer(kit)
    for _ in range(5):
        await kit.ai.record_usage(user_id, "gpt-4o-mini", 10, 5)
    assert (await kit.meters.flush(limit=2)).sent == 2
    assert await kit.meters.pending() == 3
    assert (await kit.meters.flush(limit=2)).sent == 2
    assert (await kit.meters.flush(limit=2)).sent == 1
    assert await kit.meters.pending() == 0
    rows = await outbox(kit)
    assert [e["identifier"] for e in fake_stripe.meter_events()] == [identifier_of(r) for r in rows]


async def test_concurrent_flushes_send_each_row_once(
    make_metered: MeteredKits, fake_stripe: FakeStripe
) -> None:
    kit = await make_metered()
    other = await make_metered()  # another worker on the same database
    user_id, customer_id = await customer(kit)
    for _ in range(6):
        await kit.ai.record_usage(user_id, "gpt-4o-mini", 10, 5)
    results = await asyncio.gather(kit.meters.flush(), other.meters.flush())
    assert sum(r.sent for r in results) == 6
    assert len(meter_calls(fake_stripe)) == 6  # no row was sent by both
    assert fake_stripe.metered(customer_id) == 6 * 15


async def test_model_weights_bill_a_large_model_more(
    make_metered: MeteredKits, fake_stripe: FakeStripe
) -> None:
    kit = await make_metered(model_weights={"gpt-4o": 15, "gpt-4.1-nano": 0.25})
    user_id, _ = await customer(kit)
    await kit.ai.record_usage(user_id, "gpt-4o-mini", 100, 20)  # weight 1 (unlisted)
    await kit.ai.record_usage(user_id, "gpt-4o", 100, 20)
    await kit.ai.record_usage(user_id, "gpt-4.1-nano", 3, 0)  # 0.75, rounded up
    await kit.meters.flush()
    values = [e["payload"]["value"] for e in fake_stripe.meter_events()]
    assert values == ["120", "1800", "1"]
    assert kit.ai.meter.credits("gpt-4o", 1_000_000) == 15_000_000
    assert kit.ai.meter.credits("x", 3) == 3


async def test_usage_of_an_owner_without_a_customer_is_skipped_and_logged(
    make_metered: MeteredKits, fake_stripe: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    kit = await make_metered()
    user = await kit.users.create("nocustomer@example.com", PASSWORD)
    await kit.ai.record_usage(user.id, "gpt-4o-mini", 10, 5)
    with caplog.at_level(logging.WARNING, "saaskit.ai.meters"):
        result = await kit.meters.flush()
    assert result.skipped == 1
    assert "no Stripe customer" in caplog.text
    assert [r.status for r in await outbox(kit)] == ["skipped"]
    assert meter_calls(fake_stripe) == []


async def test_usage_too_old_for_stripe_is_failed_loudly_not_sent(
    make_metered: MeteredKits, fake_stripe: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    kit = await make_metered()
    user_id, _ = await customer(kit)
    await kit.ai.record_usage(user_id, "gpt-4o-mini", 10, 5)
    now = kit.meters.clock()
    kit.meters.clock = lambda: now + timedelta(days=34, minutes=1)
    with caplog.at_level(logging.ERROR, "saaskit.ai.meters"):
        assert (await kit.meters.flush()).failed == 1
    assert "older than 34 days" in caplog.text
    (row,) = await outbox(kit)
    assert (row.status, row.last_error) == ("failed", "too old for Stripe's 35-day limit")
    assert meter_calls(fake_stripe) == []


async def test_no_retry_after_the_deduplication_window(
    make_metered: MeteredKits, fake_stripe: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    kit = await make_metered()
    user_id, _ = await customer(kit)
    await kit.ai.record_usage(user_id, "gpt-4o-mini", 10, 5)
    fake_stripe.fail_next(500, path=PATH)
    await kit.meters.flush()
    now = kit.meters.clock()
    kit.meters.clock = lambda: now + timedelta(hours=20, minutes=1)
    with caplog.at_level(logging.ERROR, "saaskit.ai.meters"):
        assert (await kit.meters.flush()).failed == 1
    assert "could be counted twice" in caplog.text
    assert len(meter_calls(fake_stripe)) == 1  # the one failed attempt only


async def test_a_long_outage_within_the_windows_is_retried_and_warned_about(
    make_metered: MeteredKits, fake_stripe: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    # Usage recorded during a day without any flush (no attempt yet) still goes out.
    kit = await make_metered()
    user_id, customer_id = await customer(kit)
    await kit.ai.record_usage(user_id, "gpt-4o-mini", 10, 5)
    now = kit.meters.clock()
    kit.meters.clock = lambda: now + timedelta(days=2)
    with caplog.at_level(logging.WARNING, "saaskit.ai.meters"):
        assert (await kit.meters.flush()).sent == 1
    assert "has waited since" in caplog.text
    assert fake_stripe.metered(customer_id) == 15


async def test_an_event_stripe_refuses_is_failed_loudly(
    make_metered: MeteredKits, fake_stripe: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    kit = await make_metered()
    user_id, _ = await customer(kit)
    await kit.ai.record_usage(user_id, "gpt-4o-mini", 10, 5)
    await kit.ai.record_usage(user_id, "gpt-4o-mini", 10, 5)
    fake_stripe.fail_next(400, type="invalid_request_error", message="No such meter", path=PATH)
    with caplog.at_level(logging.ERROR, "saaskit.ai.meters"):
        result = await kit.meters.flush()
    assert (result.failed, result.sent) == (1, 1)  # the next row still goes out
    assert "refused AI meter event" in caplog.text
    assert [r.status for r in await outbox(kit)] == ["failed", "sent"]


async def test_each_metered_call_queues_a_flush_through_the_task_runner(
    make_metered: MeteredKits, fake_stripe: FakeStripe
) -> None:
    kit = await make_metered(auto_flush=True)
    user_id, customer_id = await customer(kit)
    await kit.ai.chat(user_id, ask(), max_tokens=50)
    await kit.runner.drain()
    assert fake_stripe.metered(customer_id, EVENT) == await tokens_of(kit, user_id)
    assert FLUSH_METERS.name in kit.tasks


async def test_the_flush_task_asks_the_runner_to_retry_while_stripe_is_down(
    make_metered: MeteredKits, fake_stripe: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    kit = await make_metered()
    user_id, customer_id = await customer(kit)
    await kit.ai.record_usage(user_id, "gpt-4o-mini", 10, 5)
    fake_stripe.fail_next(500, path=PATH)
    runner = InProcessRunner(kit.tasks, retries=1, backoff=0)
    with caplog.at_level(logging.WARNING, "saaskit.tasks"):
        await enqueue(runner, FLUSH_METERS, FlushMeters())
        await runner.drain()
    assert "task billing.flush_meters failed" in caplog.text  # retried, then logged
    assert await kit.meters.pending() == 1  # still in the outbox
    now = kit.meters.clock()
    kit.meters.clock = lambda: now + timedelta(minutes=1)
    await enqueue(runner, FLUSH_METERS, FlushMeters())
    await runner.drain()
    assert fake_stripe.metered(customer_id) == 15


async def test_unmetered_kits_write_no_outbox_rows(
    make_kit: KitFactory,
    fake_openai: FakeOpenAI,  # noqa: F811 - the imported fixture
) -> None:
    kit = await make_kit(ai=fake_openai.ai_settings())
    user = await kit.users.create("alice@example.com", PASSWORD)
    await kit.ai.chat(user.id, ask())
    assert await outbox(kit) == []
    assert FLUSH_METERS.name not in kit.tasks
    with pytest.raises(RuntimeError, match="METER_EVENT_NAME"):
        _ = kit.meters


async def test_pooled_organization_usage_is_metered_to_the_organization(
    make_metered: MeteredKits, fake_stripe: FakeStripe
) -> None:
    kit = await make_metered(pooled_org_quota=True)
    await kit.ai.record_usage(Owner("organization", 7), "gpt-4o-mini", 10, 5)
    (row,) = await outbox(kit)
    assert (row.owner_kind, row.owner_id, row.value) == ("organization", 7, 15)
    assert identifier_of(row) == f"saaskit-organization-7-{row.id}"


# ---- the fake Stripe's meter events endpoint, through the real SDK -------------------


@pytest.fixture
async def sdk(fake_stripe: FakeStripe) -> AsyncIterator[stripe.StripeClient]:
    http = build_http_client(5.0)
    yield stripe.StripeClient(
        fake_stripe.api_key,
        base_addresses={"api": fake_stripe.url},
        http_client=http,
        max_network_retries=0,
    )
    await http.close_async()  # type: ignore[no-untyped-call]


def _event(**overrides: Any) -> dict[str, Any]:
    return {
        "event_name": EVENT,
        "payload": {"stripe_customer_id": "cus_1", "value": "12"},
        **overrides,
    }


async def test_fake_meter_events_refuse_a_repeated_identifier(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient
) -> None:
    created = await sdk.v1.billing.meter_events.create_async(_event(identifier="id-1"))  # type: ignore[arg-type]
    assert (created.identifier, created.payload["value"]) == ("id-1", "12")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sdk.v1.billing.meter_events.create_async(_event(identifier="id-1"))  # type: ignore[arg-type]
    assert caught.value.http_status == 400
    assert "already exists with identifier id-1" in str(caught.value.user_message)
    generated = await sdk.v1.billing.meter_events.create_async(_event())  # type: ignore[arg-type]
    assert generated.identifier
    assert generated.identifier != "id-1"
    assert len(fake_stripe.meter_events(EVENT)) == 2
    assert fake_stripe.metered("cus_1") == 24


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (-35 * 86400 + 60, True),
        (-35 * 86400 - 60, False),
        (4 * 60, True),
        (6 * 60, False),
    ],
)
async def test_fake_meter_events_take_timestamps_within_35_days_back_and_5_minutes_ahead(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient, offset: int, accepted: bool
) -> None:
    timestamp = fake_stripe.state.now() + offset
    params = _event(timestamp=timestamp)
    if accepted:
        event = await sdk.v1.billing.meter_events.create_async(params)  # type: ignore[arg-type]
        assert event.timestamp == timestamp
        return
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sdk.v1.billing.meter_events.create_async(params)  # type: ignore[arg-type]
    assert caught.value.param == "timestamp"
    assert fake_stripe.meter_events() == []


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"payload": {"value": "1"}}, "payload[stripe_customer_id]"),
        ({"payload": {"stripe_customer_id": "cus_1", "value": "x"}}, "payload[value]"),
        ({"event_name": ""}, "event_name"),
        ({"identifier": "i" * 101}, "identifier"),
        ({"customer": "cus_1"}, "customer"),  # not a parameter of this operation
    ],
)
async def test_fake_meter_events_validate_like_stripe(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient, params: dict[str, Any], param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sdk.v1.billing.meter_events.create_async(_event(**params))  # type: ignore[arg-type]
    assert caught.value.http_status == 400
    assert caught.value.param == param
    assert fake_stripe.meter_events() == []

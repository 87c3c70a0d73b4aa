"""Faults of the services around the app: what the user sees, what is left behind.

- Redis stopped and restarted under traffic: 503s (never 500s) while it is down, and
  the same app serves again once it is back.
- PostgreSQL connections terminated: the next requests succeed (``pool_pre_ping``).
- Stripe failing or timing out: registration still succeeds, checkout answers a clean
  503, webhook processing fails visibly and converges when Stripe retries.
- SMTP down: the email task is retried and delivered once the server is back.

The app process killed mid-traffic is in ``test_faults_crash.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from saaskit import SaaSKit
from saaskit.migrations import packaged_config, upgrade
from saaskit.models import User, WebhookEvent
from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import add_prices, billing_settings
from tests.databases import TEST_DATABASE_URL, scratch_database
from tests.e2e.processes import REDIS_SERVER, RedisServer
from tests.helpers import (
    GUARD_SECONDS,
    PASSWORD,
    KitFactory,
    bearer,
    client_for,
    login,
    register,
    signed_up,
)
from tests.helpers import make_settings as settings_for

pytestmark = pytest.mark.slow


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


# ---- Redis ---------------------------------------------------------------------------
@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own (the machine's shared one is never stopped)."""
    if not REDIS_SERVER:
        pytest.skip("redis-server is not on PATH")
    pytest.importorskip("redis", reason="the Redis store needs the `redis` extra")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_redis_down_is_503_and_the_app_recovers_when_it_is_back(
    database_url: str, private_redis: RedisServer
) -> None:
    from saaskit.store.redis import RedisStore

    store = RedisStore(private_redis.url, prefix="faults:", socket_timeout=0.5)
    kit = SaaSKit(settings_for(database_url), store=store)
    seen: list[tuple[str, str, int]] = []  # (phase, request, status)
    phase = "up"
    try:
        async with client_for(kit) as client:
            old = (await signed_up(client))["access_token"]

            async def traffic(stop: asyncio.Event) -> None:
                deadline = time.monotonic() + 30
                while not stop.is_set() and time.monotonic() < deadline:
                    me = await client.get("/api/v1/users/me", headers=bearer(old))
                    body = {"email": "alice@example.com", "password": PASSWORD}
                    logged = await client.post("/api/v1/auth/login", json=body)
                    seen.extend(
                        [(phase, "me", me.status_code), (phase, "login", logged.status_code)]
                    )
                    await asyncio.sleep(0.02)

            async def until(predicate: Any, seconds: float) -> None:
                deadline = time.monotonic() + seconds
                while not predicate():
                    assert time.monotonic() < deadline, Counter(seen)
                    await asyncio.sleep(0.05)

            stop = asyncio.Event()
            runner = asyncio.create_task(traffic(stop))
            try:
                await until(lambda: len(seen) >= 10, GUARD_SECONDS)
                phase = "down"
                await asyncio.to_thread(private_redis.kill)
                await until(
                    lambda: sum(p == "down" and s == 503 for p, _, s in seen) >= 6, GUARD_SECONDS
                )
                ready = await client.get("/health/ready")
                assert ready.status_code == 503
                assert ready.json()["checks"] == {
                    "database": "ok",
                    "redis": "down",
                    "migrations": "ok",
                }
                phase = "back"
                await asyncio.to_thread(private_redis.start)
                await until(lambda: ("back", "login", 200) in seen, GUARD_SECONDS)
            finally:
                stop.set()
                await runner

            # The restarted Redis had no persistence: sessions are gone, so old tokens
            # are refused (401) and a new login works on the same, unrestarted app.
            fresh = await login(client)
            me = await client.get("/api/v1/users/me", headers=bearer(fresh["access_token"]))
            assert me.status_code == 200
            gone = await client.get("/api/v1/users/me", headers=bearer(old))
            assert_error(gone, 401, "invalid_token")
            assert (await client.get("/health/ready")).status_code == 200
    finally:
        await kit.aclose()

    statuses = Counter(seen)
    print(f"redis fault traffic: {dict(statuses)}")
    assert {s for p, _, s in seen if p == "up"} == {200}
    assert {s for p, _, s in seen if p == "down"} <= {200, 503}  # 200: answered before the kill
    assert {s for p, _, s in seen if p == "back"} <= {200, 401, 503}
    async with kit.session_factory() as db:
        assert await db.scalar(select(func.count()).select_from(User)) == 1
    await kit.engine.dispose()


# ---- PostgreSQL ------------------------------------------------------------------------
@pytest.fixture
def scratch_postgres(tmp_path: Path) -> Iterator[str]:
    if not TEST_DATABASE_URL:
        pytest.skip("terminating connections needs PostgreSQL (SAASKIT_TEST_DATABASE_URL)")
    with scratch_database(tmp_path, "faults") as url:
        upgrade(packaged_config(url))
        yield url


async def terminate_connections(url: str) -> int:
    """``pg_terminate_backend`` every other connection to the database of ``url``."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await engine.dispose()
    return int(killed or 0)


async def test_dropped_postgres_connections_are_replaced_without_a_restart(
    scratch_postgres: str,
) -> None:
    from tests.helpers import new_store

    kit = SaaSKit(settings_for(scratch_postgres), store=new_store())
    try:
        async with client_for(kit) as client:
            tokens = await signed_up(client)
            # Several requests at once: several pooled connections to lose.
            warm = await asyncio.gather(*(login(client) for _ in range(5)))
            assert len(warm) == 5
            for _ in range(2):
                assert await terminate_connections(scratch_postgres) >= 1
                statuses = [
                    (await register(client, f"{uuid.uuid4().hex[:8]}@example.com")).status_code,
                    *[
                        r.status_code
                        for r in await asyncio.gather(
                            *(
                                client.post(
                                    "/api/v1/auth/login",
                                    json={"email": "alice@example.com", "password": PASSWORD},
                                )
                                for _ in range(5)
                            )
                        )
                    ],
                    (
                        await client.patch(
                            "/api/v1/users/me",
                            json={"full_name": "Again"},
                            headers=bearer(tokens["access_token"]),
                        )
                    ).status_code,
                    (await client.get("/health/ready")).status_code,
                ]
                assert statuses == [201, 200, 200, 200, 200, 200, 200, 200], statuses
        async with kit.session_factory() as db:
            assert await db.scalar(select(func.count()).select_from(User)) == 3
    finally:
        await kit.aclose()


# ---- Stripe ----------------------------------------------------------------------------
CHECKOUT = "/api/v1/billing/create-checkout-session"


@pytest.fixture
async def billing_kit(make_kit: KitFactory, fake_stripe: FakeStripe) -> SaaSKit[User]:
    add_prices(fake_stripe)
    # A short client timeout, so a hanging Stripe is noticed quickly.
    return await make_kit(billing=billing_settings(fake_stripe, timeout_seconds=0.5))


async def stripe_reached(fake: FakeStripe) -> None:
    """Wait until a call is held in ``fake`` (a guard against a hang, not a speed check)."""
    deadline = time.monotonic() + GUARD_SECONDS
    while not fake.held:
        assert time.monotonic() < deadline, "no Stripe call arrived"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("fault", ["500", "timeout", "disconnect"])
async def test_stripe_failing_never_blocks_registration_and_checkout_is_a_clean_503(
    billing_kit: SaaSKit[User], fake_stripe: FakeStripe, fault: str
) -> None:
    failures: dict[str, dict[str, Any]] = {
        "500": {"status": 500},
        "timeout": {"status": 500, "delay": 1.5},  # answers after the 0.5 s client timeout
        "disconnect": {"disconnect": True},
    }
    failure = failures[fault]
    fake_stripe.fail_next(**failure, times=100)
    async with client_for(billing_kit) as client:
        fake_stripe.hold()  # Stripe answers nothing until released
        try:
            # Registration completes while every Stripe call waits: it never waits for
            # Stripe (a structural check, no bound on how long it took) ...
            assert (await register(client)).status_code == 201
            # ... though the customer's creation did start, and waits in the held fake.
            await stripe_reached(fake_stripe)
        finally:
            fake_stripe.release()
        await billing_kit.runner.drain()
        headers = bearer((await login(client))["access_token"])
        down = await client.post(CHECKOUT, json={"plan": "pro"}, headers=headers)
        assert_error(down, 503, "billing_unavailable")
        user = await billing_kit.users.get_by_email("alice@example.com")
        assert user is not None
        assert user.stripe_customer_id is None
        assert fake_stripe.customers() == []

        fake_stripe.clear_failures()
        up = await client.post(CHECKOUT, json={"plan": "pro"}, headers=headers)
        assert up.status_code == 200, up.text
        again = await client.post(CHECKOUT, json={"plan": "pro"}, headers=headers)
        assert again.status_code == 200, again.text

    user = await billing_kit.users.get(user.id)
    assert user is not None
    # The customer was created lazily at checkout, once.
    assert [c["id"] for c in fake_stripe.customers()] == [user.stripe_customer_id]


async def test_webhook_processing_fails_visibly_while_stripe_fails_and_converges_on_retry(
    billing_kit: SaaSKit[User], fake_stripe: FakeStripe
) -> None:
    async with client_for(billing_kit) as client:
        headers = bearer((await signed_up(client))["access_token"])
        response = await client.post(CHECKOUT, json={"plan": "pro"}, headers=headers)
        assert response.status_code == 200, response.text
        fake_stripe.complete_checkout(response.json()["id"])
        events = fake_stripe.take_events()
        assert events

        # Processing re-fetches the subscription from Stripe, which is failing.
        fake_stripe.fail_next(500, path="/v1/subscriptions", times=1000)
        failed = await fake_stripe.deliver(client, events=events)
        handled = [r for r in failed if r.status_code != 200]
        assert handled, [r.status_code for r in failed]
        for r in handled:
            assert_error(r, 503, "billing_unavailable")
        plan = await client.get("/api/v1/billing/subscription", headers=headers)
        assert plan.json()["plan"] == "free", plan.text
        async with billing_kit.session_factory() as db:
            states = Counter(await db.scalars(select(WebhookEvent.status)))
        assert states["failed"] == len(handled), states

        # Stripe retries the deliveries (shuffled: order must not matter) once it is back.
        fake_stripe.clear_failures()
        retried = await fake_stripe.deliver(client, events=events, shuffle=True, seed=8)
        assert [r.status_code for r in retried] == [200] * len(events)
        plan = await client.get("/api/v1/billing/subscription", headers=headers)
        assert plan.json()["plan"] == "pro", plan.text
        assert plan.json()["entitled"] is True, plan.text
        assert plan.json()["subscription"]["status"] == "active", plan.text

    async with billing_kit.session_factory() as db:
        rows = list(await db.scalars(select(WebhookEvent)))
    assert {row.status for row in rows} == {"processed"}
    assert len(rows) == len(events)
    assert max(row.attempts for row in rows) == 2


# ---- SMTP ------------------------------------------------------------------------------
async def test_smtp_down_email_is_retried_and_delivered_when_the_server_is_back(
    make_kit: KitFactory, caplog: pytest.LogCaptureFixture
) -> None:
    from aiosmtpd.controller import Controller

    from tests.email.helpers import CollectingHandler, SMTPServer
    from tests.ports import free_port

    port = free_port()  # nothing listens here yet: the mail server is down
    server = SMTPServer("127.0.0.1", port)
    kit = await make_kit(
        email={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    )
    controller = Controller(CollectingHandler(server), hostname="127.0.0.1", port=port)
    try:
        async with client_for(kit) as client:
            assert (await register(client)).status_code == 201
            body = {"email": "alice@example.com"}
            response = await client.post("/api/v1/auth/forgot-password", json=body)
            assert response.status_code == 202, response.text

            # The first attempt fails (connection refused) and the runner backs off.
            deadline = time.monotonic() + GUARD_SECONDS
            while "retrying" not in caplog.text:
                assert time.monotonic() < deadline, caplog.text
                await asyncio.sleep(0.02)
            assert server.delivered == []
            await asyncio.to_thread(controller.start)
            await asyncio.wait_for(kit.runner.drain(), 20)
    finally:
        with contextlib.suppress(AssertionError, RuntimeError):
            await asyncio.to_thread(controller.stop)

    # Both emails queued while the server was down (the verification email of the
    # registration and the reset link) arrive, once each.
    subjects = sorted(str(d.message["Subject"]).lower() for d in server.delivered)
    assert [d.rcpt_tos for d in server.delivered] == [["alice@example.com"]] * 2
    assert "reset" in subjects[1] or "reset" in subjects[0], subjects
    assert len(set(subjects)) == 2, subjects
    assert "failed after" not in caplog.text

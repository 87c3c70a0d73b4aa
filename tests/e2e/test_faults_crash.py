"""An app process SIGKILLed in the middle of concurrent registrations (with billing on
the fake Stripe): nothing half-written is left behind.

Registration is one ``INSERT`` of a complete row, committed before anything else; the
audit event and the Stripe customer come after it. So after a crash:

- every user row is complete (email, bcrypt hash, flags, ``created_at``);
- every registration that was answered 201 has its row, its audit event and its
  Stripe customer (the response waits for them);
- a Stripe customer is only ever created for a committed user (``metadata.user_id``);
  one whose id never reached the database (killed between Stripe's answer and the
  ``UPDATE``) is *recoverable*: the next ``ensure`` (any checkout or portal call) sends
  the same idempotency key, Stripe answers with that same customer, and it is stored:
  no second customer, no orphan.
"""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from saaskit import SaaSKit
from saaskit.migrations import packaged_config, upgrade
from saaskit.models import AuditEvent, User
from saaskit.owners import Owner
from saaskit.store import create_store
from saaskit.testing.fake_stripe import FakeStripe
from tests.databases import scratch_database
from tests.e2e.processes import app_environment, start_app
from tests.helpers import PASSWORD
from tests.helpers import make_settings as settings_for

pytestmark = pytest.mark.slow

REGISTRATIONS = 150
CONCURRENCY = 20
KILL_AFTER = 40  # answered registrations before the SIGKILL
PLANS = {"pro": {"price": "pro_monthly"}}


@pytest.fixture
def crash_database(tmp_path: Path) -> Iterator[str]:
    with scratch_database(tmp_path, "crash") as url:
        upgrade(packaged_config(url))
        yield url


async def test_killed_mid_registration_leaves_no_half_written_user_or_orphan_customer(
    tmp_path: Path, crash_database: str, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_price("pro_monthly", unit_amount=2000)
    billing = fake_stripe.billing_settings(plans=PLANS)
    env = app_environment(
        SAASKIT_DATABASE_URL=crash_database,
        SAASKIT_REDIS_URL="",
        SAASKIT_SECRET_KEY="crash-test-secret-key-that-is-long-enough-0123",
        SAASKIT_AUTH__BCRYPT_ROUNDS="4",
        SAASKIT_RATE_LIMIT__ENABLED="false",
        **{f"SAASKIT_BILLING__{k.upper()}": _env(v) for k, v in billing.items()},
    )
    answered: dict[str, int] = {}
    with ExitStack() as stack:
        app = start_app(tmp_path, env, "crash", stack)
        emails = [f"crash-{i}-{uuid.uuid4().hex[:6]}@example.com" for i in range(REGISTRATIONS)]
        slots = asyncio.Semaphore(CONCURRENCY)
        killed = asyncio.Event()

        async def register(client: httpx.AsyncClient, email: str) -> None:
            async with slots:
                if killed.is_set():
                    return
                body = {"email": email, "password": PASSWORD, "full_name": "Crash"}
                try:
                    response = await client.post("/api/v1/auth/register", json=body)
                except httpx.TransportError:
                    return  # the process died under this request
                answered[email] = response.status_code
                if len(answered) >= KILL_AFTER and not killed.is_set():
                    killed.set()
                    app.process.send_signal(signal.SIGKILL)

        async with httpx.AsyncClient(base_url=app.url, timeout=10) as client:
            await asyncio.wait_for(
                asyncio.gather(*(register(client, email) for email in emails)), 60
            )
        assert app.process.wait(timeout=10) == -signal.SIGKILL
    assert set(answered.values()) == {201}, answered

    kit = SaaSKit(settings_for(crash_database, billing=billing), store=create_store(None))
    try:
        report = await _check(kit, fake_stripe, answered)
    finally:
        await kit.aclose()
    print(f"crash: {len(answered)} answered 201 before the kill; {report}")


async def _check(kit: SaaSKit[User], fake: FakeStripe, answered: dict[str, int]) -> dict[str, int]:
    async with kit.session_factory() as db:
        users = list(await db.scalars(select(User).order_by(User.id)))
        registered = set(
            await db.scalars(select(AuditEvent.target_id).where(AuditEvent.action == "register"))
        )
    by_id = {user.id: user for user in users}
    by_email = {user.email: user for user in users}
    assert len(by_email) == len(users)

    # Complete rows only.
    for user in users:
        assert "@" in user.email
        assert user.hashed_password.startswith("$2"), user.email
        assert user.is_active
        assert not user.is_superuser
        assert not user.is_verified
        assert user.full_name == "Crash"
        assert user.created_at is not None
    # Acknowledged registrations have everything registration promises. The Stripe
    # customer is not among the promises any more: registration only queues it (a task
    # the kill may have lost), and the recovery below or the first checkout creates it.
    for email in answered:
        user = by_email[email]
        assert user.id in registered, email

    # Every Stripe customer belongs to a committed user, at most one per user.
    customers = fake.customers()
    owners = [int(c["metadata"]["user_id"]) for c in customers]
    assert len(owners) == len(set(owners)), "two customers for one user"
    for customer, owner in zip(customers, owners, strict=True):
        assert owner in by_id, customer
        assert customer["email"] == by_id[owner].email
        linked = by_id[owner].stripe_customer_id
        assert linked in (None, customer["id"]), (customer, linked)

    # Recover: every user without a stored customer gets the one Stripe already has (same
    # idempotency key) or, if the crash came before the call, a first one.
    unlinked = [u for u in users if not u.stripe_customer_id]
    in_stripe = {o: c["id"] for o, c in zip(owners, customers, strict=True)}
    recovered = 0
    for user in unlinked:
        customer_id = await kit.billing.customers.ensure(Owner.user(user.id))
        if user.id in in_stripe:
            assert customer_id == in_stripe[user.id]
            recovered += 1
    after = fake.customers()
    assert sorted(int(c["metadata"]["user_id"]) for c in after) == sorted(by_id)
    return {
        "users": len(users),
        "unanswered_users": len(users) - len(answered),
        "customers_before_recovery": len(customers),
        "customers_unlinked_then_recovered": recovered,
        "users_without_customer_then_created": len(unlinked) - recovered,
        "users_without_audit_event": len(set(by_id) - registered),
    }


def _env(value: Any) -> str:
    """A settings value as pydantic-settings reads it from the environment."""
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)

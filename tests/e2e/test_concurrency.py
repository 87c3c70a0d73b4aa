"""Races that must have exactly one winner, on the backends under test.

On SQLite writes are serialized by the database file, so these tests mostly prove the
error paths; the PostgreSQL + Redis run (``SAASKIT_TEST_DATABASE_URL`` /
``SAASKIT_TEST_REDIS_URL``) is the one where the requests really overlap in the
database and the store.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from saaskit.models import User
from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import add_prices, billing_settings
from tests.helpers import PASSWORD, KitFactory, bearer, client_for, login

pytestmark = pytest.mark.slow

VARIANTS = 20
LIMITS = {"register_ip": {"limit": 1000, "window_seconds": 3600}}


def mixed_case(email: str, count: int) -> list[str]:
    """``count`` distinct spellings of ``email``: bit i of n upper-cases letter i."""
    letters = [i for i, c in enumerate(email) if c.isalpha()]
    variants = []
    for n in range(count):
        chars = list(email)
        for bit, index in enumerate(letters):
            if n >> bit & 1:
                chars[index] = chars[index].upper()
        variants.append("".join(chars))
    assert len(set(variants)) == count
    return variants


async def test_one_account_per_email_under_concurrent_registration(
    make_kit: KitFactory, fake_stripe: FakeStripe
) -> None:
    add_prices(fake_stripe)
    kit = await make_kit(billing=billing_settings(fake_stripe), rate_limit=LIMITS)
    emails = mixed_case("race.condition@example.com", VARIANTS)
    async with client_for(kit) as client:

        async def register(email: str) -> httpx.Response:
            body = {"email": email, "password": PASSWORD, "full_name": "Racer"}
            return await client.post("/api/v1/auth/register", json=body)

        responses = await asyncio.gather(*(register(email) for email in emails))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * (VARIANTS - 1), statuses
        for response in responses:
            if response.status_code == 409:
                error: dict[str, Any] = response.json()["error"]
                assert error["code"] == "email_already_registered", error

        # Any spelling logs in to the one account.
        tokens = await login(client, "RACE.CONDITION@EXAMPLE.COM")
        me = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 200
        assert me.json()["email"] == "race.condition@example.com"

    # The Stripe customer is made by a task queued at registration (off the request).
    await kit.runner.drain()
    async with kit.session_factory() as db:
        count = await db.scalar(select(func.count()).select_from(User))
        user = await db.scalar(select(User))
    assert count == 1
    assert user is not None
    # Billing creates the Stripe customer after registration: the losers created none.
    customers = fake_stripe.customers()
    assert [c["id"] for c in customers] == [user.stripe_customer_id]


@pytest.mark.parametrize("grace", [0, 30])
async def test_concurrent_refreshes_of_one_token_have_one_winner(
    make_kit: KitFactory, grace: int
) -> None:
    kit = await make_kit(auth={"refresh_reuse_grace_seconds": grace})
    async with client_for(kit) as client:
        body = {"email": "tabs@example.com", "password": PASSWORD, "full_name": "Tabs"}
        assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
        tokens = await login(client, "tabs@example.com")

        async def refresh() -> httpx.Response:
            body = {"refresh_token": tokens["refresh_token"]}
            return await client.post("/api/v1/auth/refresh", json=body)

        responses = await asyncio.gather(*(refresh() for _ in range(10)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [401] * 9, statuses
        winner = next(r for r in responses if r.status_code == 200).json()

        me = await client.get("/api/v1/users/me", headers=bearer(winner["access_token"]))
        # One more replay of the old token; it is still the one replaced last.
        assert (await refresh()).status_code == 401
        again = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": winner["refresh_token"]}
        )
        if grace:
            # Losers within the grace are refused without revoking the session (two tabs
            # refreshing at once): the winner's new tokens keep working.
            assert me.status_code == 200
            assert again.status_code == 200, again.text
        else:
            # The default treats every replay as theft: the whole session ends, including
            # the winner's brand-new tokens.
            assert me.status_code == 401
            assert again.status_code == 401
    user = await kit.users.get_by_email("tabs@example.com")
    assert user is not None
    assert len(await kit.sessions.for_user(user.id)) == (1 if grace else 0)

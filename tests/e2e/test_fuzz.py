"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis).

Every operation (auth, users, audit, health and billing against the fake Stripe) gets
a bounded number of generated requests three times: anonymous, with the bearer token of
a registered user, and with a superuser's (so the admin routes get past their 403).
Valid requests (positive mode) must get no 5xx, a documented status code and a body
matching the documented schema; invalid ones (negative mode) must get no 5xx.
Generation is derandomized, so a run is repeatable.

The app runs in-process: schemathesis' ASGI transport drives every request on one
shared event loop thread, so the kit's pools (asyncpg, Redis) stay on one loop.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.python.asgi import get_client, shutdown_lifespans
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from saaskit import SaaSKit
from saaskit.models import User
from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import add_prices, billing_settings
from tests.helpers import PASSWORD, build_app, new_store
from tests.helpers import make_settings as kit_settings

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Invalid requests (wrong types, missing fields, undecodable bodies) must never be a 5xx,
# and their status must be one the operation declares (a body FastAPI cannot read is a
# declared 400 on every saaskit route that takes one).
NEGATIVE_CHECKS = [not_a_server_error, status_code_conformance]
# The webhook only accepts bodies signed with the Stripe secret; generated ones are (and
# must be) rejected with a documented 400, which the checks still verify. Nothing is
# excluded: every operation is fuzzed.
EXCLUDED: set[str] = set()


@pytest.fixture
def fuzz_kit(database_url: str) -> Iterator[tuple[SaaSKit[User], FakeStripe]]:
    with FakeStripe() as fake:
        add_prices(fake)
        kit = SaaSKit(
            kit_settings(
                database_url,
                billing=billing_settings(fake),
                # Fuzzing sends hundreds of requests from one client: limits would turn
                # most of them into 429s and hide the handlers behind them.
                rate_limit={"enabled": False},
            ),
            store=new_store(),
        )
        try:
            yield kit, fake
        finally:
            # The lifespan (started by the ASGI client on its loop thread) closes the kit.
            shutdown_lifespans()


async def _promote(database_url: str, email: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(User).where(User.email == email).values(is_superuser=True))
    finally:
        await engine.dispose()


def _token(app: Any, email: str, *, superuser: bool = False, database_url: str = "") -> str:
    with get_client(app) as client:
        body = {"email": email, "password": PASSWORD, "full_name": "Fuzz"}
        response = client.post("/api/v1/auth/register", json=body)
        assert response.status_code == 201, response.text
        if superuser:
            asyncio.run(_promote(database_url, email))
        response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["is_superuser"] is superuser, me.text
        return token


def _fuzz(
    operation: Any, headers: dict[str, str], counts: Counter[str], mode: GenerationMode
) -> None:
    """Up to ``MAX_EXAMPLES`` generated requests to one operation, each one checked."""
    checks = CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy(mode))
        response = case.call(headers=headers)
        counts[f"{response.status_code // 100}xx"] += 1
        counts["cases"] += 1
        case.validate_response(response, checks=checks, headers=headers)

    try:
        run()
    except Unsatisfiable:
        # No invalid request exists for an operation without inputs (GET /health,
        # GET /users/me...).
        assert mode is GenerationMode.NEGATIVE
        counts["operations without negative cases"] += 1


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_fuzz_every_operation(
    fuzz_kit: tuple[SaaSKit[User], FakeStripe], mode: GenerationMode
) -> None:
    kit, _fake = fuzz_kit
    kit_url = kit.settings.database_url
    app = build_app(kit)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # an operation the schema cannot describe
        operations.append(result.ok())
    labels = {op.label for op in operations}
    assert any(label.startswith("POST /api/v1/billing") for label in labels), labels
    counts: Counter[str] = Counter()
    started = time.monotonic()
    serial = iter(range(1_000_000))

    for who in ("anonymous", "user", "superuser"):
        for operation in operations:
            if operation.label in EXCLUDED:
                continue
            headers: dict[str, str] = {}
            if who != "anonymous":
                # A fresh user per operation: DELETE /users/me, logout-all or a password
                # change by one operation must not turn the next one's requests into 401s.
                email = f"fuzz{next(serial)}@example.com"
                superuser = who == "superuser"
                token = _token(app, email, superuser=superuser, database_url=kit_url)
                headers = {"Authorization": f"Bearer {token}"}

            _fuzz(operation, headers, counts, mode)

    elapsed = time.monotonic() - started
    print(f"fuzz ({mode.value}): {len(operations)} operations, {dict(counts)} in {elapsed:.1f}s")
    assert counts["5xx"] == 0
    assert counts["cases"] >= len(operations) * 2

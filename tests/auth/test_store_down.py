"""With the store (Redis) unreachable, auth answers 503 ``service_unavailable``: never a
500, and never a 200 that would mean revocation checks were skipped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import GUARD_SECONDS, PASSWORD, bearer, client_for
from tests.helpers import make_settings as settings_for

pytest.importorskip("redis", reason="the Redis store needs the `redis` extra")

from saaskit.store.redis import RedisStore

CLOSED_PORT_URL = "redis://127.0.0.1:1/0"
SID = "0" * 32  # a well-formed session id, so requests get as far as the store


@pytest.fixture(params=[True, False], ids=["limits-on", "limits-off"])
async def down_kit(
    database_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[SaaSKit[User]]:
    """A kit whose store points at a closed port (with and without rate limits, so the
    session checks themselves are reached, not only the limiter)."""
    settings = settings_for(database_url, rate_limit={"enabled": request.param})
    kit = SaaSKit(settings, store=RedisStore(CLOSED_PORT_URL))
    yield kit
    await kit.aclose()


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "service_unavailable"


async def test_login_is_503_when_the_store_is_down(down_kit: SaaSKit[User]) -> None:
    await down_kit.users.create("alice@example.com", PASSWORD)
    async with client_for(down_kit) as client, asyncio.timeout(GUARD_SECONDS):  # no hang
        response = await client.post(
            "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
        )

    assert_unavailable(response)


async def test_refresh_is_503_when_the_store_is_down(down_kit: SaaSKit[User]) -> None:
    user = await down_kit.users.create("alice@example.com", PASSWORD)
    token, _ = down_kit.tokens.issue(
        "refresh", user_id=user.id, session_id=SID, expires_at=int(time.time()) + 600
    )
    async with client_for(down_kit) as client:
        response = await client.post("/api/v1/auth/refresh", json={"refresh_token": token})

    assert_unavailable(response)


@pytest.mark.parametrize("path", ["/api/v1/users/me", "/api/v1/auth/sessions", "/host/private"])
async def test_protected_routes_are_503_not_200_when_the_store_is_down(
    down_kit: SaaSKit[User], path: str
) -> None:
    from fastapi import Depends, FastAPI

    app = FastAPI()
    down_kit.install(app)

    @app.get("/host/private")
    async def private(user: User = Depends(down_kit.current_active_user)) -> dict[str, Any]:
        return {"id": user.id}

    user = await down_kit.users.create("alice@example.com", PASSWORD)
    token, _ = down_kit.tokens.issue("access", user_id=user.id, session_id=SID)
    async with client_for(down_kit, app) as client:
        response = await client.get(path, headers=bearer(token))

    assert_unavailable(response)


async def test_logout_is_503_when_the_store_is_down(down_kit: SaaSKit[User]) -> None:
    user = await down_kit.users.create("alice@example.com", PASSWORD)
    token, _ = down_kit.tokens.issue("access", user_id=user.id, session_id=SID)
    async with client_for(down_kit) as client:
        response = await client.post("/api/v1/auth/logout", headers=bearer(token))

    assert_unavailable(response)


async def test_readiness_is_503_naming_redis(down_kit: SaaSKit[User]) -> None:
    async with client_for(down_kit) as client:
        ready = await client.get("/health/ready")
        live = await client.get("/health")

    assert ready.status_code == 503
    assert ready.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "down", "migrations": "ok"},
    }
    assert live.status_code == 200

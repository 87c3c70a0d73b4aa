"""Helpers for saaskit's tests: settings, stores, apps, clients and sign-up steps.

Import them from here (``from tests.helpers import ...``), never from a conftest:
conftest modules hold fixtures only.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.models import User
from saaskit.store import Store, create_store

TEST_REDIS_URL = os.environ.get("SAASKIT_TEST_REDIS_URL")


PASSWORD = "correct horse battery"

GUARD_SECONDS = 60.0
"""How long a test waits for something that should take milliseconds: a guard that stops
a hung test, never an assertion about speed (a loaded machine must not fail a test)."""


KitFactory = Callable[..., Awaitable[SaaSKit[User]]]


async def truncate_tables(url: str) -> None:
    """Empty every table of the database at ``url`` but the migration history."""
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        tables = await conn.run_sync(
            lambda c: [t for t in c.dialect.get_table_names(c) if t != "alembic_version"]
        )
        if tables:
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    await engine.dispose()


def make_settings(database_url: str, **overrides: Any) -> SaaSKitSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": None,
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "auth": {"bcrypt_rounds": 4},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            values[key] = {**values[key], **value}
        else:
            values[key] = value
    return SaaSKitSettings(**values)


def new_store() -> Store:
    """Redis with a fresh key prefix per test (no flushing shared data), or memory."""
    if TEST_REDIS_URL:
        from saaskit.store.redis import RedisStore

        return RedisStore(TEST_REDIS_URL, prefix=f"test:{uuid.uuid4().hex}:")
    return create_store(None)


def build_app(kit: SaaSKit[Any]) -> FastAPI:
    app = FastAPI(lifespan=kit.lifespan)
    kit.install(app)
    return app


@asynccontextmanager
async def client_for(
    kit: SaaSKit[Any], app: FastAPI | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for ``app`` (default: a fresh app with ``kit`` installed)."""
    transport = httpx.ASGITransport(app=app or build_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def register(
    client: httpx.AsyncClient, email: str = "alice@example.com", password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": password, "full_name": "Alice"},
    )


async def login(
    client: httpx.AsyncClient, email: str = "alice@example.com", password: str = PASSWORD
) -> dict[str, Any]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def answer(response: httpx.Response) -> Any:
    """A response's JSON body without the request id of an error, which differs per
    request: for tests that check two answers are alike."""
    body = response.json()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body["error"].pop("request_id", None)
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def signed_up(client: httpx.AsyncClient, email: str = "alice@example.com") -> dict[str, Any]:
    """Register and log in; returns the token pair."""
    assert (await register(client, email)).status_code == 201
    return await login(client, email)

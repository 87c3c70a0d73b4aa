"""Shared fixtures: a migrated database (PostgreSQL or SQLite), a store (Redis or
memory), and kits/clients built on them.

``SAASKIT_TEST_DATABASE_URL`` / ``SAASKIT_TEST_REDIS_URL`` select PostgreSQL and Redis;
without them the suite runs on SQLite files and the in-process store.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.migrations import packaged_config, upgrade
from saaskit.models import User
from saaskit.store import Store, create_store
from tests.databases import TEST_DATABASE_URL, scratch_database
from tests.secret_scan import (  # noqa: F401 - the suite-wide log scan (fixture and hooks)
    REGISTRY,
    _secret_scan,
    pytest_sessionfinish,
    pytest_terminal_summary,
)

TEST_REDIS_URL = os.environ.get("SAASKIT_TEST_REDIS_URL")
PASSWORD = "correct horse battery"
REGISTRY.add("password", PASSWORD)

KitFactory = Callable[..., Awaitable[SaaSKit[User]]]


def pytest_report_header() -> list[str]:
    database = "PostgreSQL" if TEST_DATABASE_URL else "SQLite (embedded default)"
    store = "Redis" if TEST_REDIS_URL else "in-process store (embedded default)"
    return [f"saaskit test backends: database={database}, store={store}"]


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate once per run. On PostgreSQL the run gets a database of its own."""
    folder = tmp_path_factory.mktemp("db")
    with scratch_database(folder, "test") as url:
        upgrade(packaged_config(url))
        yield url


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """A clean, migrated database for one test (truncated, or a fresh SQLite copy)."""
    if TEST_DATABASE_URL:
        asyncio.run(_truncate(migrated_database))
        yield migrated_database
        return
    path = tmp_path / "test.db"
    shutil.copy(make_url(migrated_database).database or "", path)
    yield f"sqlite+aiosqlite:///{path}"


async def _truncate(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        tables = await conn.run_sync(
            lambda c: [t for t in c.dialect.get_table_names(c) if t != "alembic_version"]
        )
        if tables:
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    await engine.dispose()


def test_settings(database_url: str, **overrides: Any) -> SaaSKitSettings:
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


@pytest.fixture
async def make_kit(database_url: str) -> AsyncIterator[KitFactory]:
    kits: list[SaaSKit[Any]] = []

    async def factory(**overrides: Any) -> SaaSKit[User]:
        kit = SaaSKit(test_settings(database_url, **overrides), store=new_store())
        kits.append(kit)
        return kit

    yield factory
    for kit in kits:
        await kit.aclose()


@pytest.fixture
async def kit(make_kit: KitFactory) -> SaaSKit[User]:
    return await make_kit()


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


@pytest.fixture
async def client(kit: SaaSKit[User]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(kit), raise_app_exceptions=False)
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

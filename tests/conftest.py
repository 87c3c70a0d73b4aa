"""Shared fixtures: a migrated database (PostgreSQL or SQLite), a store (Redis or
memory), and kits/clients built on them.

``SAASKIT_TEST_DATABASE_URL`` / ``SAASKIT_TEST_REDIS_URL`` select PostgreSQL and Redis;
without them the suite runs on SQLite files and the in-process store.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from saaskit import SaaSKit
from saaskit.migrations import packaged_config, upgrade
from saaskit.models import User
from tests.databases import TEST_DATABASE_URL, scratch_database
from tests.helpers import (
    PASSWORD,
    TEST_REDIS_URL,
    KitFactory,
    build_app,
    make_settings,
    new_store,
    truncate_tables,
)
from tests.secret_scan import (  # noqa: F401 - the suite-wide log scan (fixture and hooks)
    REGISTRY,
    _secret_scan,
    pytest_sessionfinish,
    pytest_terminal_summary,
)
from tests.topology.cluster_fixture import redis_cluster  # noqa: F401 - one per session

REGISTRY.add("password", PASSWORD)


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
        asyncio.run(truncate_tables(migrated_database))
        yield migrated_database
        return
    path = tmp_path / "test.db"
    shutil.copy(make_url(migrated_database).database or "", path)
    yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def make_kit(database_url: str) -> AsyncIterator[KitFactory]:
    kits: list[SaaSKit[Any]] = []

    async def factory(**overrides: Any) -> SaaSKit[User]:
        kit = SaaSKit(make_settings(database_url, **overrides), store=new_store())
        kits.append(kit)
        return kit

    yield factory
    for kit in kits:
        await kit.aclose()


@pytest.fixture
async def kit(make_kit: KitFactory) -> SaaSKit[User]:
    return await make_kit()


@pytest.fixture
async def client(kit: SaaSKit[User]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c

"""The packaged 0003_billing migration matches the billing models, up and down."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from saaskit.migrations import packaged_config
from tests.databases import TEST_DATABASE_URL


async def _admin(statement: str) -> None:
    assert TEST_DATABASE_URL
    engine = create_async_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the backend under test (never the shared test database)."""
    if not TEST_DATABASE_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"saaskit_billing_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _tables(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_billing_migration_up_down_and_matches_the_models(scratch_url: str) -> None:
    config = packaged_config(scratch_url)
    command.upgrade(config, "0003_billing")
    assert {"subscriptions", "webhook_events"} <= _tables(scratch_url)
    command.upgrade(config, "head")
    command.check(config)  # raises if the models differ from the migrated schema
    command.downgrade(config, "0002_audit_events")
    assert not {"subscriptions", "webhook_events"} & _tables(scratch_url)
    command.upgrade(config, "0003_billing")
    assert {"subscriptions", "webhook_events"} <= _tables(scratch_url)

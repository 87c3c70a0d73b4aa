"""The packaged 0003_billing migration matches the billing models, up and down."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from saaskit.migrations import packaged_config
from tests.databases import scratch_database


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the backend under test (never the shared test database)."""
    with scratch_database(tmp_path, "billing") as url:
        yield url


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

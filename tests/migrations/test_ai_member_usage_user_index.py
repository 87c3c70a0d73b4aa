"""Migration 0019_ai_member_usage_user_index: the member usage rows' ``user_id`` index, up
and down, on the backend under test; the migrated schema is what the models declare."""

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
    with scratch_database(tmp_path, "memberidx") as url:
        yield url


def _indexes(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            found = await conn.run_sync(
                lambda c: {str(i["name"]) for i in inspect(c).get_indexes("ai_member_usage")}
            )
        await engine.dispose()
        return found

    return asyncio.run(read())


def test_upgrade_adds_the_member_index_and_downgrade_drops_it(scratch_url: str) -> None:
    config = packaged_config(scratch_url)
    command.upgrade(config, "head")
    command.check(config)  # the migrated schema is what the models declare
    assert "ix_ai_member_usage_user_id" in _indexes(scratch_url)

    command.downgrade(config, "0018_deletion_prior_state")
    assert "ix_ai_member_usage_user_id" not in _indexes(scratch_url)
    command.upgrade(config, "head")
    assert "ix_ai_member_usage_user_id" in _indexes(scratch_url)

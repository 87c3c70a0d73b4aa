"""Migration 0010_api_keys: the api_keys table, up and down, on the backend under test;
the migrated schema is what the models declare (organizations' included)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from saaskit.migrations import packaged_config
from tests.databases import scratch_database
from tests.migrations.helpers import run_sql as run


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    with scratch_database(tmp_path, "apikeys") as url:
        yield url


def test_upgrade_creates_the_api_keys_table_and_downgrade_drops_it(scratch_url: str) -> None:
    config = packaged_config(scratch_url)
    command.upgrade(config, "head")
    command.check(config)  # the models and the migrations agree
    assert run(scratch_url, "SELECT count(*) FROM api_keys") == [(0,)]
    command.downgrade(config, "0009_ai_meter_outbox")
    with pytest.raises(Exception, match="api_keys"):
        run(scratch_url, "SELECT count(*) FROM api_keys")
    command.upgrade(config, "head")
    assert run(scratch_url, "SELECT count(*) FROM api_keys") == [(0,)]

"""Migration 0013_oauth_accounts: the oauth_accounts table, up and down, on the backend under
test; the migrated schema is what the models declare."""

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
    with scratch_database(tmp_path, "oauth") as url:
        yield url


def test_upgrade_creates_the_oauth_accounts_table_and_downgrade_drops_it(scratch_url: str) -> None:
    config = packaged_config(scratch_url)
    command.upgrade(config, "head")
    command.check(config)  # the models and the migrations agree
    assert run(scratch_url, "SELECT count(*) FROM oauth_accounts") == [(0,)]
    command.downgrade(config, "0012_mfa")
    with pytest.raises(Exception, match="oauth_accounts"):
        run(scratch_url, "SELECT count(*) FROM oauth_accounts")
    command.upgrade(config, "head")
    assert run(scratch_url, "SELECT count(*) FROM oauth_accounts") == [(0,)]

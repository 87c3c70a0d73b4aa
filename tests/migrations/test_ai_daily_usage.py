"""Migration 0017_ai_daily_usage: the AI usage per day table, up and down, on the backend
under test; the migrated schema is what the models declare."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.exc import IntegrityError

from saaskit.migrations import packaged_config
from tests.databases import scratch_database
from tests.migrations.helpers import run_sql as run

ROW = (
    "INSERT INTO ai_daily_usage (owner_kind, owner_id, user_id, day, model, prompt_tokens,"
    " completion_tokens, requests) VALUES ('organization', 3, NULL, '2026-12-04', 'm', 5, 2, 1)"
)


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    with scratch_database(tmp_path, "aidaily") as url:
        yield url


def test_upgrade_creates_the_daily_table_and_downgrade_drops_it(scratch_url: str) -> None:
    config = packaged_config(scratch_url)
    command.upgrade(config, "head")
    command.check(config)  # the migrated schema is what the models declare
    run(scratch_url, ROW)
    assert run(scratch_url, "SELECT owner_id, day, prompt_tokens FROM ai_daily_usage") == [
        (3, "2026-12-04", 5)
    ]
    with pytest.raises(IntegrityError):  # one row per owner, day and model
        run(scratch_url, ROW)

    command.downgrade(config, "0016_oauth_tokens")
    assert run(scratch_url, "SELECT count(*) FROM ai_usage") == [(0,)]  # untouched
    command.upgrade(config, "head")
    assert run(scratch_url, "SELECT count(*) FROM ai_daily_usage") == [(0,)]

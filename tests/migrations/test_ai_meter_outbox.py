"""Migration 0009_ai_meter_outbox: the AI meter outbox table, up and down, on the
backend under test; the migrated schema is what the models declare."""

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
    with scratch_database(tmp_path, "aimeters") as url:
        yield url


def test_upgrade_creates_the_outbox_and_downgrade_drops_it(scratch_url: str) -> None:
    config = packaged_config(scratch_url)
    command.upgrade(config, "head")  # later revisions (API keys) add tables only
    command.check(config)  # the migrated schema is what the models declare
    run(
        scratch_url,
        "INSERT INTO ai_meter_outbox (owner_kind, owner_id, event_name, model, value,"
        " occurred_at, status, attempts, next_attempt_at) VALUES ('user', 1, 'ai', 'm', 5,"
        " '2026-12-03 10:00:00', 'pending', 0, '2026-12-03 10:00:00')",
    )
    assert run(scratch_url, "SELECT owner_id, value, status FROM ai_meter_outbox") == [
        (1, 5, "pending")
    ]
    command.downgrade(config, "0008_ai_member_usage")
    assert run(scratch_url, "SELECT count(*) FROM ai_member_usage") == [(0,)]  # untouched
    command.upgrade(config, "head")
    assert run(scratch_url, "SELECT count(*) FROM ai_meter_outbox") == [(0,)]

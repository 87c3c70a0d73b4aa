"""Migration 0018_deletion_prior_state: the deletions' ``was_active`` column, up and down,
on the backend under test, keeping the rows; the migrated schema is what the models declare."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from saaskit.migrations import packaged_config
from tests.databases import scratch_database
from tests.migrations.helpers import run_sql as run

LEGACY = (  # a deletion scheduled by the previous kit: no recorded state
    "INSERT INTO privacy_deletions (user_id, status, requested_at, erase_after,"
    " restore_token_hash, steps, attempts) VALUES (7, 'scheduled', '2026-12-04 12:00:00',"
    " '2027-01-03 12:00:00', 'a', '[]', 0)"
)
BANNED = (  # a deactivated account's: no restore token, was_active false
    "INSERT INTO privacy_deletions (user_id, status, requested_at, erase_after,"
    " restore_token_hash, steps, attempts, was_active) VALUES (8, 'scheduled',"
    " '2026-12-04 12:00:00', '2027-01-03 12:00:00', NULL, '[]', 0, :was_active)"
)


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    with scratch_database(tmp_path, "priorstate") as url:
        yield url


def test_upgrade_adds_was_active_and_downgrade_drops_it_keeping_the_rows(
    scratch_url: str,
) -> None:
    config = packaged_config(scratch_url)
    command.upgrade(config, "0017_ai_daily_usage")
    run(scratch_url, LEGACY)

    command.upgrade(config, "head")
    command.check(config)  # the models and the migrations agree
    assert run(scratch_url, "SELECT user_id, was_active FROM privacy_deletions") == [(7, None)]
    run(scratch_url, BANNED, [{"was_active": False}])
    rows = run(scratch_url, "SELECT user_id, was_active FROM privacy_deletions ORDER BY user_id")
    assert [(user_id, None if v is None else bool(v)) for user_id, v in rows] == [
        (7, None),
        (8, False),
    ]

    command.downgrade(config, "0017_ai_daily_usage")
    with pytest.raises(Exception, match="was_active"):
        run(scratch_url, "SELECT was_active FROM privacy_deletions")
    assert run(scratch_url, "SELECT user_id FROM privacy_deletions ORDER BY user_id") == [
        (7,),
        (8,),
    ]
    command.upgrade(config, "head")
    nulls = "SELECT count(*) FROM privacy_deletions WHERE was_active IS NULL"
    assert run(scratch_url, nulls) == [(2,)]

"""Migration 0008_ai_member_usage: the per-member AI usage table, up and down, on the
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
    with scratch_database(tmp_path, "aimembers") as url:
        yield url


def test_upgrade_creates_the_member_usage_table_and_downgrade_drops_it(scratch_url: str) -> None:
    config = packaged_config(scratch_url)
    command.upgrade(config, "0008_ai_member_usage")
    run(
        scratch_url,
        "INSERT INTO ai_member_usage (owner_kind, owner_id, month, model, prompt_tokens,"
        " completion_tokens, requests) VALUES ('organization', 1, '2026-12', 'm', 1, 2, 1)",
    )
    assert run(scratch_url, "SELECT owner_id, user_id FROM ai_member_usage") == [(1, None)]
    command.downgrade(config, "0007_organizations")
    tables = run(scratch_url, "SELECT count(*) FROM ai_usage")  # the rest is untouched
    assert tables == [(0,)]
    command.upgrade(config, "head")  # later revisions (the meter outbox) add tables only
    command.check(config)
    assert run(scratch_url, "SELECT count(*) FROM ai_member_usage") == [(0,)]

"""Migration 0007_organizations: the organization tables, up and down, on the backend
under test; the migrated schema is what the models declare."""

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
    with scratch_database(tmp_path, "orgs") as url:
        yield url


def test_upgrade_creates_the_organization_tables_and_downgrade_drops_them(
    scratch_url: str,
) -> None:
    config = packaged_config(scratch_url)
    command.upgrade(config, "0007_organizations")
    run(scratch_url, "INSERT INTO organizations (name, slug) VALUES ('Acme', 'acme')")
    assert run(scratch_url, "SELECT name, slug FROM organizations") == [("Acme", "acme")]
    command.downgrade(config, "0006_billing_owners")
    command.upgrade(config, "head")
    assert run(scratch_url, "SELECT count(*) FROM organizations") == [(0,)]

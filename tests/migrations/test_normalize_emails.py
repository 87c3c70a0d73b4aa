"""Migration 0005_normalize_emails and saaskit.migrations.emails on legacy rows: safe rewrites,
collisions reported and left alone, on the backend under test."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from saaskit.migrations import packaged_config
from saaskit.migrations.emails import EmailReport, normalize_stored_emails
from tests.databases import scratch_database
from tests.migrations.helpers import run_sql as run

# Addresses as saaskit stored them before NFKC (lower-cased only), or as written around it.
LEGACY = {
    1: "alice@example.com",
    2: "\uff41lice@example.com",  # fullwidth a: becomes alice@example.com, which id 1 has
    3: "\uff42ob@example.com",  # fullwidth b: bob@example.com is free, so it is rewritten
    4: "Carol@Example.COM",  # inserted around the model: lower-cased now
    5: "\u0430lice@example.com",  # Cyrillic a: no collision, but it mixes scripts
    6: "\U0001d41dave@example.com",  # mathematical bold d...
    7: "\uff44ave@example.com",  # ...and fullwidth d: both would be dave@example.com
    8: "erin@example.com",
}
AFTER = {
    **LEGACY,
    3: "bob@example.com",
    4: "carol@example.com",
}


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    with scratch_database(tmp_path, "emails") as url:
        yield url


LEGACY_ROWS = [{"id": key, "email": address} for key, address in LEGACY.items()]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("alembic") and r.levelno == logging.WARNING
    ]


def test_migration_rewrites_safe_addresses_and_reports_collisions(
    scratch_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = packaged_config(scratch_url)
    command.upgrade(config, "0004_ai_usage")
    run(
        scratch_url,
        "INSERT INTO users (id, email, hashed_password) VALUES (:id, :email, 'x')",
        LEGACY_ROWS,
    )
    caplog.set_level(logging.INFO, logger="alembic")

    command.upgrade(config, "head")

    assert dict(run(scratch_url, "SELECT id, email FROM users")) == AFTER
    reported = warnings(caplog)
    [alice] = [m for m in reported if "'alice@example.com'" in m and "ids 1, 2" in m]
    assert "left unchanged" in alice
    assert "\\uff41lice@example.com" in alice  # escaped, so the look-alike shows
    assert [m for m in reported if "'dave@example.com'" in m and "ids 6, 7" in m]
    [mixed] = [m for m in reported if "mixed scripts" in m]
    assert "5" in mixed.split("ids ", 1)[1]
    assert any("rewrote 2 addresses" in r.getMessage() for r in caplog.records)

    # Downgrading changes nothing; upgrading again reports the same collisions.
    command.downgrade(config, "0004_ai_usage")
    assert dict(run(scratch_url, "SELECT id, email FROM users")) == AFTER
    caplog.clear()
    command.upgrade(config, "head")
    assert dict(run(scratch_url, "SELECT id, email FROM users")) == AFTER
    assert len([m for m in warnings(caplog) if "left unchanged" in m]) == 2


def test_hosts_can_check_their_own_table(scratch_url: str) -> None:
    run(scratch_url, "CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, login VARCHAR(320))")
    run(scratch_url, "CREATE UNIQUE INDEX ix_accounts_login ON accounts (login)")
    run(scratch_url, "INSERT INTO accounts (account_id, login) VALUES (:id, :email)", LEGACY_ROWS)
    accounts = "SELECT account_id, login FROM accounts"

    def check(rewrite: bool) -> EmailReport:
        async def go() -> EmailReport:
            engine = create_async_engine(scratch_url)
            try:
                async with engine.begin() as connection:
                    return await connection.run_sync(
                        lambda sync: normalize_stored_emails(
                            sync,
                            table="accounts",
                            id_column="account_id",
                            email_column="login",
                            rewrite=rewrite,
                        )
                    )
            finally:
                await engine.dispose()

        return asyncio.run(go())

    dry = check(rewrite=False)
    assert dict(run(scratch_url, accounts)) == LEGACY
    assert dry.rewrites == {3: "bob@example.com", 4: "carol@example.com"}
    assert [sorted(group) for group in dry.collisions.values()] == [[1, 2], [6, 7]]
    assert sorted(dry.collisions) == ["alice@example.com", "dave@example.com"]
    assert list(dry.mixed_scripts) == [5]

    done = check(rewrite=True)
    assert done == dry
    assert dict(run(scratch_url, accounts)) == AFTER
    assert check(rewrite=True).rewrites == {}

"""``saaskit migrate`` / ``downgrade`` / ``makemigrations`` on saaskit's own migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from saaskit.migrations import packaged_config
from tests.cli.helpers import invoke, table_columns


def _head() -> str:
    head = ScriptDirectory.from_config(packaged_config()).get_current_head()
    assert head is not None
    return head


def _before_head() -> str:
    down = ScriptDirectory.from_config(packaged_config()).get_revision(_head()).down_revision
    assert isinstance(down, str)
    return down


def test_migrate_builds_the_schema_and_downgrade_base_removes_it(
    scratch_database_url: str,
) -> None:
    migrated = invoke("migrate", "--database-url", scratch_database_url)
    assert migrated.exit_code == 0, migrated.output
    assert f"Database is at revision: {_head()}" in migrated.stdout
    assert "Running upgrade  -> 0001_initial" in migrated.stderr
    tables = table_columns(scratch_database_url)
    assert {"email", "hashed_password", "is_superuser"} <= tables["users"]
    assert "alembic_version" in tables

    again = invoke("migrate", "--database-url", scratch_database_url)
    assert again.exit_code == 0, again.output
    assert "Running upgrade" not in again.stderr

    removed = invoke("downgrade", "base", "--database-url", scratch_database_url)
    assert removed.exit_code == 0, removed.output
    assert "Database is at revision: base (empty)" in removed.stdout
    assert set(table_columns(scratch_database_url)) <= {"alembic_version"}


def test_relative_downgrade_and_targeted_upgrade_use_the_configured_database(
    scratch_database_url: str,
) -> None:
    env = {"SAASKIT_DATABASE_URL": scratch_database_url}
    assert invoke("migrate", env=env).exit_code == 0

    stepped = invoke("downgrade", "-1", env=env)
    assert stepped.exit_code == 0, stepped.output
    assert f"Database is at revision: {_before_head()}" in stepped.stdout

    assert invoke("downgrade", "base", env=env).exit_code == 0
    partial = invoke("migrate", "--revision", "0001_initial", env=env)
    assert partial.exit_code == 0, partial.output
    assert set(table_columns(scratch_database_url)) == {"alembic_version", "users"}


def test_migrate_on_the_default_sqlite_file_once_it_is_named() -> None:
    env = {"SAASKIT_DATABASE_URL": "sqlite+aiosqlite:///./saaskit.db"}
    result = invoke("migrate", env=env)
    assert result.exit_code == 0, result.output
    assert "saaskit.db" in result.stderr
    assert "users" in table_columns("sqlite+aiosqlite:///./saaskit.db")


def test_migrate_outside_a_project_does_not_create_a_database_unasked(
    clean_environment: Path,
) -> None:
    for command in (["migrate"], ["downgrade", "base"]):
        result = invoke(*command)
        assert result.exit_code == 1
        assert "would create saaskit.db" in result.stderr
        assert "SAASKIT_DATABASE_URL" in result.stderr
        assert "--database-url" in result.stderr
    assert list(clean_environment.iterdir()) == []


@pytest.mark.parametrize(
    ("env", "args", "named"),
    [
        ({"SAASKIT_DATABASE_URL": "postgresql://u@127.0.0.1/x"}, [], "SAASKIT_DATABASE_URL"),
        ({"SAASKIT_DATABASE_URL": "notaurl"}, [], "SAASKIT_DATABASE_URL"),
        ({}, ["--database-url", "notaurl"], "--database-url"),
        ({}, ["--database-url", "sqlite:///./x.db"], "--database-url"),
    ],
)
def test_unusable_database_urls_are_named_with_the_fix(
    env: dict[str, str], args: list[str], named: str
) -> None:
    result = invoke("migrate", *args, env=env)
    assert result.exit_code == 1
    assert named in result.stderr
    assert "+asyncpg://" in result.stderr or "+aiosqlite://" in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) <= 3


def test_unreachable_database_is_a_one_line_error() -> None:
    result = invoke("migrate", "--database-url", "postgresql+asyncpg://postgres@127.0.0.1:1/x")
    assert result.exit_code == 1
    assert "Error: cannot use the database" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_revision_is_reported() -> None:
    env = {"SAASKIT_DATABASE_URL": "sqlite+aiosqlite:///./saaskit.db"}
    assert invoke("migrate", env=env).exit_code == 0
    result = invoke("downgrade", "no-such-revision", env=env)
    assert result.exit_code == 1
    assert "no-such-revision" in result.stderr
    assert "Traceback" not in result.output


def test_makemigrations_needs_a_host_project() -> None:
    result = invoke("makemigrations", "-m", "add column")
    assert result.exit_code == 1
    assert "alembic.ini" in result.stderr
    assert "saaskit init" in result.stderr
    assert "run_env(Base.metadata)" in result.stderr


def test_invalid_settings_are_explained_without_echoing_values() -> None:
    result = invoke("migrate", env={"SAASKIT_DB__POOL_SIZE": "not-a-number-s3cret"})
    assert result.exit_code == 1
    assert "SAASKIT_DB__POOL_SIZE" in result.stderr
    assert "s3cret" not in result.output

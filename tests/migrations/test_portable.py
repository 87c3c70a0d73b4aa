"""Migrations whose server defaults run on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from saaskit.migrations import upgrade
from saaskit.migrations.portable import render_portable, write_initial_migration
from saaskit.models import Base
from tests.cli.helpers import table_columns
from tests.databases import scratch_database

SCRIPT = Path(__file__).resolve().parents[2] / "src/saaskit/cli/templates/project/migrations"


def rendered(default: sa.DefaultClause | str | None) -> object:
    context = AutogenContext(
        MigrationContext.configure(dialect_name="sqlite"),
        opts={"sqlalchemy_module_prefix": "sa."},
    )
    return render_portable("server_default", default, context)


@pytest.mark.parametrize(
    ("default", "expected"),
    [
        (sa.true(), "sa.true()"),
        (sa.false(), "sa.false()"),
        (sa.func.now(), "sa.func.now()"),
        (sa.func.current_timestamp(), "sa.func.current_timestamp()"),
    ],
)
def test_portable_defaults_render_as_expressions(
    default: sa.ColumnElement[object], expected: str
) -> None:
    assert rendered(sa.DefaultClause(default)) == expected


@pytest.mark.parametrize(
    "default",
    [sa.DefaultClause("1"), sa.DefaultClause(sa.text("gen_random_uuid()")), None],
)
def test_other_defaults_are_left_to_alembic(default: sa.DefaultClause | None) -> None:
    assert rendered(default) is False
    assert rendered(sa.DefaultClause(sa.func.coalesce(1, 2))) is False


def test_only_server_defaults_are_rendered() -> None:
    context = AutogenContext(MigrationContext.configure(dialect_name="sqlite"))
    assert render_portable("type", sa.Boolean(), context) is False


def test_initial_migration_creates_the_schema_on_the_backend_under_test(tmp_path: Path) -> None:
    (tmp_path / "versions").mkdir()
    (tmp_path / "script.py.mako").write_text((SCRIPT / "script.py.mako").read_text())
    (tmp_path / "env.py").write_text(
        "from saaskit.migrations import run_env\n"
        "from saaskit.models import Base\n\n"
        "run_env(Base.metadata)\n"
    )
    config = Config()
    config.set_main_option("script_location", str(tmp_path))
    path = write_initial_migration(config, Base.metadata, rev_id="0001", message="initial")
    assert path.name == "0001_initial.py"
    text = path.read_text()
    assert "sa.text(" not in text
    assert "server_default=sa.true()" in text
    with scratch_database(tmp_path, "portable") as url:
        config.set_main_option("sqlalchemy.url", url)
        upgrade(config)
        columns = table_columns(url)
        assert set(Base.metadata.tables) <= set(columns)
        assert columns["users"] >= {"email", "is_active", "created_at"}

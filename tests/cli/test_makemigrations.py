"""``saaskit makemigrations`` in a host project.

The first and last steps run the real ``saaskit`` command (a user's shell: the project's
``models`` module must import from the current folder); the steps in between run
in-process, dropping the cached ``models`` module so each step sees the file as it is.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import saaskit.migrations
from tests.cli.helpers import invoke, run_saaskit, table_columns

ALEMBIC_INI = """\
[alembic]
script_location = migrations
"""

ENV_PY = """\
from saaskit.migrations import run_env

from models import Base

run_env(Base.metadata)
"""

MODELS = """\
from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from saaskit.models import NAMING_CONVENTION


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
{extra}
"""

DESCRIPTION = "    description: Mapped[str | None] = mapped_column(String(500))"


@pytest.fixture
def versions(clean_environment: Path) -> Iterator[Path]:
    """A host project in the current folder; yields its versions folder."""
    root = clean_environment
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    template = Path(saaskit.migrations.__file__).parent / "script.py.mako"
    shutil.copy(template, root / "migrations" / "script.py.mako")
    (root / "models.py").write_text(MODELS.format(extra=""))
    sys.modules.pop("models", None)
    yield root / "migrations" / "versions"
    sys.modules.pop("models", None)


def _in_process(*args: str, url: str) -> tuple[int, str, str]:
    sys.modules.pop("models", None)  # as a new process would, read models.py afresh
    result = invoke(*args, env={"SAASKIT_DATABASE_URL": url})
    return result.exit_code, result.stdout, result.stderr


def _upgrade_body(script: Path) -> str:
    text = script.read_text()
    return text[text.index("def upgrade") : text.index("def downgrade")]


@pytest.mark.slow
def test_makemigrations_writes_only_the_new_column(
    clean_environment: Path, versions: Path, scratch_database_url: str
) -> None:
    url = scratch_database_url
    initial = run_saaskit(
        "makemigrations", "-m", "create projects", cwd=clean_environment, SAASKIT_DATABASE_URL=url
    )
    assert initial.returncode == 0, initial.stderr
    [first] = versions.glob("*.py")
    assert "create_table('projects'" in first.read_text()

    code, _, err = _in_process("makemigrations", "-m", "too early", url=url)
    assert code == 1
    assert "not up to date" in err
    assert "saaskit migrate" in err

    code, _, err = _in_process("migrate", url=url)
    assert code == 0, err
    assert "project migrations" in err
    assert table_columns(url)["projects"] == {"id", "name"}

    code, out, err = _in_process("makemigrations", "-m", "nothing", url=url)
    assert code == 0, err
    assert "No changes detected" in out
    assert "Detected sequence" not in err  # PostgreSQL's SERIAL columns are not news
    assert list(versions.glob("*.py")) == [first]

    (clean_environment / "models.py").write_text(MODELS.format(extra=DESCRIPTION))
    code, _, err = _in_process(
        "makemigrations",
        "-m",
        "add description",
        "--database-url",
        url,
        url="sqlite+aiosqlite:///./ignored.db",
    )
    assert code == 0, err
    [second] = set(versions.glob("*.py")) - {first}
    upgrade = _upgrade_body(second)
    assert upgrade.count("add_column(") == 1
    assert "'description'" in upgrade
    for other in ("create_table", "drop_", "alter_column", "create_index"):
        assert other not in upgrade, upgrade

    applied = run_saaskit("migrate", cwd=clean_environment, SAASKIT_DATABASE_URL=url)
    assert applied.returncode == 0, applied.stderr
    assert table_columns(url)["projects"] == {"id", "name", "description"}
    assert not (clean_environment / "ignored.db").exists()  # --database-url won

"""``saaskit migrate``, ``saaskit downgrade`` and ``saaskit makemigrations``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from alembic import command
from alembic.operations.ops import MigrationScript
from alembic.runtime.migration import MigrationContext

from saaskit.cli.alembic_support import (
    MigrationTarget,
    alembic_session,
    database_revisions,
    resolve_target,
)
from saaskit.cli.database import missing_sqlite_file
from saaskit.cli.output import fail, redact_url
from saaskit.migrations import downgrade as run_downgrade
from saaskit.migrations import upgrade as run_upgrade

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database to migrate, e.g. postgresql+asyncpg://user:pw@host/db "
        "(default: sqlalchemy.url of alembic.ini, else SAASKIT_DATABASE_URL).",
        show_default=False,
    ),
]

NOT_A_PROJECT = (
    "makemigrations needs a host project: run it in a folder with an alembic.ini "
    "(made by `saaskit init`, or an Alembic folder whose env.py calls "
    "`saaskit.migrations.run_env(Base.metadata)`)."
)


def migrate(
    revision: Annotated[
        str, typer.Option("--revision", "-r", help="Revision to upgrade to.")
    ] = "head",
    database_url: DatabaseUrlOption = None,
) -> None:
    """Apply migrations: the project's (alembic.ini here) or saaskit's own default models'."""
    target = resolve_target(database_url)
    _refuse_accidental_database(target)
    _announce("Migrating", target)
    with alembic_session():
        run_upgrade(target.config, revision)
        _report_revision(target)


def downgrade(
    revision: Annotated[
        str,
        typer.Argument(help="Revision to go back to: an id, a relative step like -1, or base."),
    ],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Revert migrations down to REVISION (`base` removes every migrated table)."""
    target = resolve_target(database_url)
    _refuse_accidental_database(target)
    _announce("Downgrading", target)
    with alembic_session():
        run_downgrade(target.config, revision)
        _report_revision(target)


def makemigrations(
    message: Annotated[
        str, typer.Option("--message", "-m", help="What the migration does, e.g. 'add company'.")
    ],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Write a migration for the differences between the project's models and its database."""
    if not (Path.cwd() / "alembic.ini").is_file():
        fail(NOT_A_PROJECT)
    target = resolve_target(database_url)
    skipped: list[bool] = []

    def skip_when_empty(
        _context: MigrationContext, _revision: Any, directives: list[MigrationScript]
    ) -> None:
        if _no_changes(directives):
            directives[:] = []
            skipped.append(True)

    _announce("Comparing the models with", target)
    with alembic_session():
        command.revision(
            target.config,
            message=message,
            autogenerate=True,
            process_revision_directives=skip_when_empty,
        )
    if skipped:
        typer.echo("No changes detected; no migration written.")


def _refuse_accidental_database(target: MigrationTarget) -> None:
    """Outside a project, nothing names a database: do not create ./saaskit.db unasked."""
    missing = missing_sqlite_file(target.url)
    if target.is_project or target.source != "default" or missing is None:
        return
    fail(
        f"no project here (no alembic.ini in {Path.cwd()}) and SAASKIT_DATABASE_URL is not "
        f"set, so this would create {missing}.",
        hint="Run it in your project's folder, or name the database: set SAASKIT_DATABASE_URL "
        f"or pass --database-url (e.g. --database-url sqlite+aiosqlite:///./{missing.name}).",
    )


def _no_changes(directives: Iterable[MigrationScript]) -> bool:
    return all(all(ops.is_empty() for ops in script.upgrade_ops_list) for script in directives)


def _announce(action: str, target: MigrationTarget) -> None:
    source = "project migrations" if target.is_project else "saaskit's migrations"
    typer.echo(f"{action} {redact_url(target.url)} ({source})", err=True)


def _report_revision(target: MigrationTarget) -> None:
    revisions = asyncio.run(database_revisions(target.url))
    typer.echo(f"Database is at revision: {', '.join(revisions) or 'base (empty)'}")

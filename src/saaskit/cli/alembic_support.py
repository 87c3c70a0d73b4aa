"""Which Alembic configuration a command works on, and how Alembic talks to the console.

In a host project (an ``alembic.ini`` in the current directory) the project's own
migrations are used; anywhere else, the migrations saaskit ships for its default models.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from pydantic import ValidationError
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from saaskit.cli.output import describe_validation_error, fail, load_settings
from saaskit.exceptions import MissingExtra
from saaskit.migrations import packaged_config, project_config
from saaskit.settings import database_url_problem

# Alembic's chatter that says nothing to a user of the CLI.
# "Detected sequence ..." is PostgreSQL's SERIAL columns being recognised, once per table.
_NOISE = (
    "Context impl ",
    "Will assume ",
    "setting up autogenerate plugin ",
    "Detected sequence named ",
)


@dataclass(frozen=True)
class MigrationTarget:
    """An Alembic config and the database URL it will run against."""

    config: Config
    url: str
    is_project: bool
    source: str = "SAASKIT_DATABASE_URL"
    """Where ``url`` came from: ``--database-url``, ``alembic.ini``, ``SAASKIT_DATABASE_URL``
    or ``default`` (the settings' default, ``./saaskit.db``)."""


def resolve_target(
    database_url: str | None,
    directory: Path | None = None,
    *,
    settings_url: str | None = None,
) -> MigrationTarget:
    """The host project's migrations if ``directory`` has an ``alembic.ini``, else saaskit's.

    Args:
        database_url: overrides every other source of the URL.
        directory: where to look for ``alembic.ini`` (default: the current directory).
        settings_url: the settings' URL when the caller already has it (else they are read).

    The URL is, in order: ``database_url``, the project's ``sqlalchemy.url``, then
    ``SAASKIT_DATABASE_URL`` (settings).
    """
    directory = directory or Path.cwd()
    if database_url:
        _refuse_unusable(database_url, "--database-url")
    config = project_config(directory, database_url)
    if config is None:
        url, source = (
            (database_url, "--database-url") if database_url else _settings_url(settings_url)
        )
        return MigrationTarget(packaged_config(url), url, is_project=False, source=source)
    # The project's env.py imports its models (``from app.models import Base``).
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    url = database_url or config.get_main_option("sqlalchemy.url") or ""
    source = "--database-url" if database_url else "sqlalchemy.url in alembic.ini"
    if url and not database_url:
        _refuse_unusable(url, source)
    if not url:
        url, source = _settings_url(settings_url)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return MigrationTarget(config, url, is_project=True, source=source)


def _settings_url(settings_url: str | None) -> tuple[str, str]:
    if settings_url is not None:
        return settings_url, "SAASKIT_DATABASE_URL"
    settings = load_settings()
    explicit = "database_url" in settings.model_fields_set
    return settings.database_url, "SAASKIT_DATABASE_URL" if explicit else "default"


def _refuse_unusable(url: str, source: str) -> None:
    problem = database_url_problem(url)
    if problem:
        fail(f"{source}: {problem}")


class _EchoHandler(logging.Handler):
    """Sends Alembic's progress lines to stderr (looked up at each write)."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(_NOISE):
            typer.echo(message, err=True)


@contextmanager
def alembic_session() -> Iterator[None]:
    """Show Alembic's progress and turn its expected failures into one-line errors."""
    logger = logging.getLogger("alembic")
    handler = _EchoHandler(logging.INFO)
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    except CommandError as error:
        hint = None
        if "not up to date" in str(error):
            hint = "Apply the pending migrations first: saaskit migrate"
        fail(str(error), hint=hint)
    except ValidationError as error:
        fail("invalid settings:\n" + describe_validation_error(error))
    except MissingExtra as error:
        fail(str(error))
    except (DBAPIError, ConnectionError, TimeoutError, socket.gaierror) as error:
        fail(f"cannot use the database: {first_line(error)}")
    except OSError as error:  # e.g. the versions folder is not writable
        fail(str(error))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


def first_line(error: BaseException) -> str:
    """``Type: first line of the message`` of a driver error, for one-line reports."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return f"{type(original).__name__}: {text[0] if text else ''}".rstrip(": ")


def head_revisions(config: Config) -> tuple[str, ...]:
    """The newest revision(s) of the migration scripts."""
    return tuple(ScriptDirectory.from_config(config).get_heads())


async def database_revisions(url: str) -> tuple[str, ...]:
    """The revision(s) the database is at (empty when it was never migrated)."""
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current_heads)
    finally:
        await engine.dispose()


def _current_heads(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())

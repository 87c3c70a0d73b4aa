"""Alembic integration.

saaskit ships the migrations of its default models (``saaskit.migrations:versions``).
A host project with its own models keeps its own Alembic folder whose ``env.py`` is::

    from saaskit.migrations import run_env
    from app.models import Base

    run_env(Base.metadata)

The database URL comes from saaskit's settings (``SAASKIT_DATABASE_URL`` / ``.env``)
unless the Alembic config sets ``sqlalchemy.url``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import async_engine_from_config

from saaskit.exceptions import require_module
from saaskit.migrations.portable import render_portable
from saaskit.settings import SaaSKitSettings

PACKAGED_LOCATION = str(Path(__file__).parent)


def _run_sync(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_portable,  # server defaults that run on SQLite and PostgreSQL
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str, metadata: MetaData) -> None:
    if make_url(url).get_backend_name() == "postgresql":
        require_module("asyncpg", "postgres")  # says which extra to install
    engine = async_engine_from_config(
        {"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync, metadata)
    finally:
        await engine.dispose()


def database_url() -> str:
    """The URL migrations run against: ``sqlalchemy.url`` if set, else the settings'."""
    configured = context.config.get_main_option("sqlalchemy.url")
    return configured or SaaSKitSettings().database_url


def run_env(metadata: MetaData) -> None:
    """Body of an Alembic ``env.py``: run migrations for ``metadata`` (online or offline)."""
    url = database_url()
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_async(url, metadata))


def packaged_config(url: str | None = None) -> Config:
    """Alembic config for saaskit's own migrations (the default models)."""
    config = Config()
    config.set_main_option("script_location", PACKAGED_LOCATION)
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def project_config(directory: Path, url: str | None = None) -> Config | None:
    """The host project's Alembic config (``alembic.ini`` in ``directory``), if any."""
    ini = directory / "alembic.ini"
    if not ini.exists():
        return None
    config = Config(str(ini))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(config: Config, revision: str = "head") -> None:
    """Migrate the database of ``config`` up to ``revision`` (default: the head)."""
    command.upgrade(config, revision)


def downgrade(config: Config, revision: str) -> None:
    """Migrate the database of ``config`` down to ``revision``."""
    command.downgrade(config, revision)


def make_migration(config: Config, message: str) -> None:
    """Autogenerate a revision named ``message`` from the models' differences."""
    command.revision(config, message=message, autogenerate=True)

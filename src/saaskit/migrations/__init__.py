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
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import async_engine_from_config

from saaskit.exceptions import require_module
from saaskit.migrations.portable import render_portable
from saaskit.settings import SaaSKitSettings

if TYPE_CHECKING:
    from saaskit.features import Feature

PACKAGED_LOCATION = str(Path(__file__).parent)
PACKAGED_VERSIONS = str(Path(__file__).parent / "versions")


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


def packaged_config(url: str | None = None, features: Iterable[Feature[Any]] = ()) -> Config:
    """Alembic config for saaskit's own migrations (the default models).

    Args:
        url: the database (default: the settings').
        features: features whose migrations run too (their ``migrations`` folders).
    """
    config = Config()
    config.set_main_option("script_location", PACKAGED_LOCATION)
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return with_features(config, features)


def with_features(config: Config, features: Iterable[Feature[Any]]) -> Config:
    """Add each feature's Alembic folder to ``config``'s ``version_locations``.

    A feature's revisions are a branch of their own (``branch_labels = ("<name>",)``,
    ``depends_on`` the kit revision they need), so ``upgrade heads`` applies them with
    saaskit's. In a host's ``alembic.ini`` the same is one line::

        version_locations = %(here)s/migrations/versions my_feature:migrations

    Args:
        config: an Alembic config (saaskit's packaged one or a host's).
        features: the features; those without ``migrations`` are skipped.

    Returns:
        ``config``, changed.
    """
    folders = [str(f.migrations) for f in features if f.migrations is not None]
    if not folders:
        return config
    current = config.get_main_option("version_locations")
    if current:
        locations = current.split()
    else:
        script = config.get_main_option("script_location") or PACKAGED_LOCATION
        locations = [str(Path(script) / "versions")]
    config.set_main_option("path_separator", "space")
    config.set_main_option("version_locations", " ".join([*locations, *folders]))
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
    """Upgrade to ``revision``; ``head`` is every head: saaskit's and each feature's branch."""
    command.upgrade(config, "heads" if revision == "head" else revision)


def downgrade(config: Config, revision: str) -> None:
    """Migrate the database of ``config`` down to ``revision``."""
    command.downgrade(config, revision)


def make_migration(config: Config, message: str) -> None:
    """Autogenerate a revision named ``message`` from the models' differences."""
    command.revision(config, message=message, autogenerate=True)

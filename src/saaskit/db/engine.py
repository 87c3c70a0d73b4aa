"""Async engine and session factory built from settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from saaskit.exceptions import require_module
from saaskit.settings import SaaSKitSettings


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(settings: SaaSKitSettings, url: str | None = None) -> AsyncEngine:
    """Create the async engine for ``url`` (default: ``settings.database_url``).

    PostgreSQL uses asyncpg with a connection pool sized by ``settings.db``; SQLite uses
    aiosqlite in WAL mode with foreign keys on and a busy timeout, so concurrent writers
    wait instead of failing.
    """
    url = url or settings.database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        if parsed.get_driver_name() != "asyncpg":
            raise ValueError(
                f"database URL driver {parsed.get_driver_name()!r} is not async; "
                "use postgresql+asyncpg://user:password@host/dbname"
            )
        require_module("asyncpg", "postgres")
    options: dict[str, Any] = {"echo": settings.db.echo}
    if parsed.get_backend_name() == "sqlite":
        options["connect_args"] = {"timeout": 30}
    else:
        options.update(
            pool_size=settings.db.pool_size,
            max_overflow=settings.db.max_overflow,
            pool_timeout=settings.db.pool_timeout,
            pool_recycle=settings.db.pool_recycle,
            pool_pre_ping=settings.db.pool_pre_ping,
        )
    engine = create_async_engine(url, **options)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)

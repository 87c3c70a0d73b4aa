"""Async engine and session factory built from settings."""

from __future__ import annotations

import logging
import ssl
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from saaskit.db.replicas import ReadRouter
from saaskit.exceptions import require_module
from saaskit.settings import DatabaseSettings, SaaSKitSettings


def is_sqlite(url: str) -> bool:
    """Whether ``url`` is a SQLite database URL."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    settings: SaaSKitSettings, url: str | None = None, *, connect_timeout: float | None = None
) -> AsyncEngine:
    """Create the async engine for ``url`` (default: ``settings.database_url``).

    PostgreSQL uses asyncpg with a connection pool sized by ``settings.db``; SQLite uses
    aiosqlite in WAL mode with foreign keys on and a busy timeout, so concurrent writers
    wait instead of failing. Statement parameters are hidden from errors and logs.
    ``connect_timeout`` bounds how long opening a PostgreSQL connection may take. With
    ``db.ssl_ca_file`` (or a client certificate) every PostgreSQL connection is TLS with
    the server verified against that CA, host name included (:func:`ssl_context`).
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
    # hide_parameters: a failed statement's error (and so its log line) never shows the
    # bound values, which include password hashes, token digests and personal data.
    options: dict[str, Any] = {"echo": settings.db.echo, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        options["connect_args"] = {"timeout": 30}
    else:
        options.update(
            pool_size=settings.db.pool_size,
            max_overflow=settings.db.max_overflow,
            pool_timeout=settings.db.pool_timeout,
            pool_recycle=settings.db.pool_recycle,
        )
        connect_args: dict[str, Any] = {}
        if connect_timeout is not None:
            connect_args["timeout"] = connect_timeout
        context = ssl_context(settings.db)
        if context is not None:
            connect_args["ssl"] = context  # wins over the URL's ?ssl=
        if connect_args:
            options["connect_args"] = connect_args
    engine = create_async_engine(url, **options)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        _quiet_aiosqlite()
    elif settings.db.pool_pre_ping:
        event.listen(engine.sync_engine, "checkout", _ping_on_checkout)
    return engine


def ssl_context(db: DatabaseSettings) -> ssl.SSLContext | None:
    """The TLS context for PostgreSQL from ``db.ssl_*``, or None (the URL's ``?ssl=`` rules).

    It always verifies the server's certificate and host name: with ``ssl_ca_file``
    against that CA only, else against the system's CAs. A server that cannot be
    verified fails the connection; nothing falls back to plaintext.
    """
    if db.ssl_ca_file is None and db.ssl_cert_file is None:
        return None
    context = ssl.create_default_context(cafile=db.ssl_ca_file)
    if db.ssl_cert_file is not None:
        context.load_cert_chain(db.ssl_cert_file, db.ssl_key_file)
    return context


def _ping_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Check a pooled connection before use; a dead one is replaced, not handed out.

    SQLAlchemy's own ``pool_pre_ping`` costs three round trips on asyncpg (``BEGIN``, a
    prepared ``;``, ``ROLLBACK``, so that it works behind pgbouncer). ``SELECT 1`` over the
    simple query protocol needs no prepared statement, so it is just as pgbouncer-safe,
    in one round trip. As with SQLAlchemy's ping, a failure also retires every pooled
    connection older than it (after a restart or failover they are all dead).
    """
    try:
        dbapi_connection.run_async(lambda connection: connection.execute("SELECT 1"))
    except Exception as error:  # any failure means: do not use this connection
        raise InvalidatePoolError(f"pooled connection failed its ping: {error}") from error


class _NoDebugRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_NO_DEBUG = _NoDebugRecords()


def _quiet_aiosqlite() -> None:
    """Drops aiosqlite's DEBUG records, which carry bound parameters.

    Aiosqlite logs every operation *with its arguments* at DEBUG, password hashes and token
    digests included; dropping those records means turning on debug logging never writes a
    secret to a log.
    """
    logger = logging.getLogger("aiosqlite")
    if _NO_DEBUG not in logger.filters:
        logger.addFilter(_NO_DEBUG)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def single_statements(session_factory: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    """The factory's engine in autocommit mode, for work that is one statement.

    One statement is atomic on its own, so it needs no ``BEGIN`` / ``COMMIT``: on
    PostgreSQL that saves two round trips and their event-loop time. It shares the
    factory's connection pool.
    """
    engine: AsyncEngine = session_factory.kw["bind"]
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def create_read_router(settings: SaaSKitSettings, primary: AsyncEngine) -> ReadRouter:
    """The :class:`ReadRouter` over ``settings.database_replica_urls`` (none: primary only)."""
    replicas = [
        create_engine(settings, url, connect_timeout=settings.db.replica_connect_timeout)
        for url in settings.database_replica_urls
    ]
    return ReadRouter(primary, replicas, retry_seconds=settings.db.replica_retry_seconds)

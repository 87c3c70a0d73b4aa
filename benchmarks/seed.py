"""Benchmark databases: a temporary PostgreSQL database or SQLite file, migrated and
filled with ``bench{n}@example.com`` users sharing one cost-12 password hash."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import bcrypt
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from saaskit.migrations import packaged_config, upgrade

BENCH_PASSWORD = "benchmark password 123"
_HASH = bcrypt.hashpw(BENCH_PASSWORD.encode(), bcrypt.gensalt(12)).decode()

_PG_FILL = """
INSERT INTO users (email, hashed_password, full_name)
SELECT 'bench' || g || '@example.com', :hash, 'Bench User'
FROM generate_series(CAST(:start AS integer), CAST(:stop AS integer)) AS g
"""
_SQLITE_FILL = """
WITH RECURSIVE g(n) AS (SELECT :start UNION ALL SELECT n + 1 FROM g WHERE n < :stop)
INSERT INTO users (email, hashed_password, full_name)
SELECT 'bench' || n || '@example.com', :hash, 'Bench User' FROM g
"""


class Database:
    def __init__(self, url: str, postgres: bool) -> None:
        self.url = url
        self.postgres = postgres
        self.count = 0
        upgrade(packaged_config(url))

    def seed(self, total: int) -> None:
        """Add users until there are ``total``."""
        if total <= self.count:
            return

        async def fill() -> None:
            engine = create_async_engine(self.url)
            async with engine.begin() as conn:
                await conn.execute(
                    text(_PG_FILL if self.postgres else _SQLITE_FILL),
                    {"hash": _HASH, "start": self.count + 1, "stop": total},
                )
                if self.postgres:
                    await conn.execute(text("ANALYZE users"))
            if self.postgres:
                async with engine.connect() as conn:
                    await conn.execute(text("CHECKPOINT"))
            await engine.dispose()

        asyncio.run(fill())
        # Write the new rows out now: the kernel's write-back of a million rows would
        # otherwise compete with the measurement that follows for tens of seconds.
        os.sync()
        self.count = total


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


@contextmanager
def postgres_database(admin_url: str, name: str) -> Iterator[Database]:
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield Database(url, postgres=True)
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def sqlite_database() -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as tmp:
        yield Database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", postgres=False)

"""Scratch databases for tests: a new PostgreSQL database (dropped afterwards) when
``SAASKIT_TEST_DATABASE_URL`` is set, else a SQLite file. The server named by that URL is
only used to create and drop databases, so concurrent runs never share tables."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

TEST_DATABASE_URL = os.environ.get("SAASKIT_TEST_DATABASE_URL")


async def _admin(statement: str) -> None:
    assert TEST_DATABASE_URL
    engine = create_async_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextmanager
def scratch_database(folder: Path, label: str) -> Iterator[str]:
    """The URL of an empty database of the backend under test."""
    if not TEST_DATABASE_URL:
        yield f"sqlite+aiosqlite:///{folder / f'{label}.db'}"
        return
    name = f"saaskit_{label}_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

"""The engine's pool check: a dead pooled connection is replaced; a live one costs one query."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from saaskit.db.engine import create_engine
from saaskit.settings import SaaSKitSettings
from tests.databases import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only (asyncpg pool)")


def engine_for(**db: Any) -> Any:
    assert TEST_DATABASE_URL
    return create_engine(SaaSKitSettings(database_url=TEST_DATABASE_URL, db=db))


async def queries_of_checkouts(checkouts: int, **db: Any) -> list[str]:
    """What the pool sends to PostgreSQL for ``checkouts`` checkouts of a warm connection."""
    engine = engine_for(**db)
    sent: list[str] = []

    async def add_logger(connection: Any) -> None:
        connection.add_query_logger(lambda record: sent.append(record.query))

    @event.listens_for(engine.sync_engine, "connect")
    def log_queries(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(add_logger)

    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 2"))
        sent.clear()
        for _ in range(checkouts):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    return sent


async def test_a_pooled_connection_is_checked_with_one_query_and_no_transaction() -> None:
    # SQLAlchemy's own pre-ping would send BEGIN; ; ROLLBACK; for each checkout.
    assert await queries_of_checkouts(3) == ["SELECT 1"] * 3


async def test_without_pre_ping_a_checkout_sends_nothing() -> None:
    assert await queries_of_checkouts(2, pool_pre_ping=False) == []


async def test_connections_killed_behind_the_pools_back_are_replaced() -> None:
    engine = engine_for(pool_size=3)
    try:
        async with engine.connect() as a, engine.connect() as b, engine.connect() as c:
            pids = {await conn.scalar(text("SELECT pg_backend_pid()")) for conn in (a, b, c)}
        killer = engine_for(pool_pre_ping=False)
        try:
            async with killer.connect() as conn:
                for pid in pids:
                    await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            await killer.dispose()

        for _ in range(4):
            async with engine.connect() as conn:
                pid = await conn.scalar(text("SELECT pg_backend_pid()"))
                assert pid not in pids
    finally:
        await engine.dispose()

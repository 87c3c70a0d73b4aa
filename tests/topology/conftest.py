"""A PostgreSQL primary + streaming replica for the session (made once, migrated)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from saaskit.migrations import packaged_config, upgrade
from tests.topology.postgres import (
    PostgresServer,
    replication_pair,
    require_postgres_binaries,
    scratch_folder,
)


@dataclass
class ReplicatedDatabase:
    primary: PostgresServer
    replica: PostgresServer

    @property
    def primary_url(self) -> str:
        return self.primary.url("saaskit")

    @property
    def replica_url(self) -> str:
        return self.replica.url("saaskit")

    def catch_up(self) -> None:
        """Wait until the replica has replayed everything the primary wrote so far."""
        asyncio.run(_wait_for_replay(self.primary_url, self.replica_url))


async def _wait_for_replay(primary_url: str, replica_url: str) -> None:
    primary = create_async_engine(primary_url)
    replica = create_async_engine(replica_url)
    try:
        async with primary.connect() as connection:
            target = await connection.scalar(text("SELECT pg_current_wal_lsn()"))
        async with asyncio.timeout(60), replica.connect() as connection:
            caught_up = text("SELECT pg_last_wal_replay_lsn() >= CAST(:target AS pg_lsn)")
            # Polling another server: no event to wait on.
            while not await connection.scalar(caught_up, {"target": target}):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        await primary.dispose()
        await replica.dispose()


async def _create_database(url: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("CREATE DATABASE saaskit"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def replicated_database() -> Iterator[ReplicatedDatabase]:
    """A migrated ``saaskit`` database on a primary, streamed to a replica."""
    require_postgres_binaries()
    folder = scratch_folder()
    primary, replica = replication_pair(folder)
    try:
        asyncio.run(_create_database(primary.url()))
        upgrade(packaged_config(primary.url("saaskit")))
        pair = ReplicatedDatabase(primary, replica)
        pair.catch_up()
        yield pair
    finally:
        replica.stop("immediate")
        primary.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def replicated(replicated_database: ReplicatedDatabase) -> ReplicatedDatabase:
    """The pair with empty tables, the replica running and caught up."""
    if not replicated_database.replica.started:
        replicated_database.replica.start()
    asyncio.run(_truncate(replicated_database.primary_url))
    replicated_database.catch_up()
    return replicated_database


async def _truncate(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            tables = await connection.run_sync(
                lambda c: [t for t in c.dialect.get_table_names(c) if t != "alembic_version"]
            )
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()

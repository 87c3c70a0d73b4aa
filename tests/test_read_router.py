"""The read router on its own (both legs, no replica server): where reads go, what a
failing replica costs, and the replica settings. The real streaming replica is in
``tests/topology/test_replicas.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from saaskit import SaaSKitSettings
from saaskit.db.replicas import ReadRouter
from tests.docs.helpers import SNIPPETS, load_path
from tests.helpers import PASSWORD, bearer, client_for, login
from tests.ports import free_port


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def which(db: AsyncSession) -> Any:
    return await db.scalar(text("SELECT name FROM which"))


async def labelled(path: Path, name: str) -> Any:
    engine = create_async_engine(f"sqlite+aiosqlite:///{path / name}.db")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE which (name text)"))
        await connection.execute(text("INSERT INTO which VALUES (:name)"), {"name": name})
    return engine


async def test_without_replicas_every_read_goes_to_the_primary(tmp_path: Path) -> None:
    primary = await labelled(tmp_path, "primary")
    reads = ReadRouter(primary)
    assert [await reads.run(which) for _ in range(3)] == ["primary"] * 3
    await primary.dispose()


async def test_reads_take_turns_over_the_replicas(tmp_path: Path) -> None:
    primary = await labelled(tmp_path, "primary")
    one, two = await labelled(tmp_path, "one"), await labelled(tmp_path, "two")
    reads = ReadRouter(primary, [one, two])
    assert sorted([await reads.run(which) for _ in range(4)]) == ["one", "one", "two", "two"]
    await reads.dispose()
    await primary.dispose()


async def test_a_replica_that_refuses_connections_is_skipped_then_tried_again(
    tmp_path: Path,
) -> None:
    primary = await labelled(tmp_path, "primary")
    nobody = create_async_engine(
        f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x", connect_args={"timeout": 2}
    )
    clock = FakeClock()
    reads = ReadRouter(primary, [nobody], retry_seconds=30, clock=clock)
    assert await reads.run(which) == "primary"  # no error: the primary answered
    assert reads.healthy() == []
    clock.now += 29
    assert reads.healthy() == []
    clock.now += 2
    assert len(reads.healthy()) == 1  # tried again after retry_seconds
    assert await reads.run(which) == "primary"
    await reads.dispose()
    await primary.dispose()


async def test_an_error_that_is_not_about_the_connection_is_raised_and_keeps_the_replica(
    tmp_path: Path,
) -> None:
    primary = await labelled(tmp_path, "primary")
    replica = await labelled(tmp_path, "replica")
    reads = ReadRouter(primary, [replica])
    ran_on: list[Any] = []

    async def broken(db: AsyncSession) -> Any:
        ran_on.append(await which(db))
        raise ValueError("a bug in the read")

    with pytest.raises(ValueError, match="a bug in the read"):
        await reads.run(broken)
    assert ran_on == ["replica"]  # not repeated on the primary
    assert len(reads.healthy()) == 1
    await reads.dispose()
    await primary.dispose()


def test_replica_urls_come_from_the_environment_comma_separated_or_as_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    primary = "postgresql+asyncpg://app@db/app"
    monkeypatch.setenv("SAASKIT_DATABASE_URL", primary)
    monkeypatch.setenv(
        "SAASKIT_DATABASE_REPLICA_URLS",
        "postgresql+asyncpg://app@replica-1/app, postgresql+asyncpg://app@replica-2/app",
    )
    assert SaaSKitSettings().database_replica_urls == [
        "postgresql+asyncpg://app@replica-1/app",
        "postgresql+asyncpg://app@replica-2/app",
    ]
    monkeypatch.setenv("SAASKIT_DATABASE_REPLICA_URLS", '["postgresql+asyncpg://app@r/app"]')
    assert SaaSKitSettings().database_replica_urls == ["postgresql+asyncpg://app@r/app"]


@pytest.mark.parametrize(
    ("primary", "replica"),
    [
        ("sqlite+aiosqlite:///./app.db", "sqlite+aiosqlite:///./copy.db"),
        ("postgresql+asyncpg://app@db/app", "postgresql://app@replica/app"),
        ("postgresql+asyncpg://app@db/app", "not a url"),
    ],
)
def test_replicas_must_be_postgresql_with_the_primarys_driver(primary: str, replica: str) -> None:
    with pytest.raises(ValidationError, match=r"replica|not valid"):
        SaaSKitSettings(database_url=primary, database_replica_urls=[replica])


async def test_the_documented_host_route_counts_users_through_the_read_router(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAASKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("SAASKIT_SECRET_KEY", "docs-test-secret-key-0123456789abcdefghij")
    monkeypatch.setenv("SAASKIT_AUTH__BCRYPT_ROUNDS", "4")
    monkeypatch.delenv("SAASKIT_REDIS_URL", raising=False)
    module = load_path(SNIPPETS / "replica_reads.py", monkeypatch)
    kit = module.kit
    ran: list[bool] = []
    real_run = kit.reads.run

    async def spy(work: Any) -> Any:
        ran.append(True)
        return await real_run(work)

    kit.reads.run = spy
    try:
        await kit.users.create("root@example.com", PASSWORD, is_superuser=True)
        async with client_for(kit, module.app) as client:
            headers = bearer((await login(client, "root@example.com"))["access_token"])
            response = await client.get("/stats/users", headers=headers)
        assert response.json() == {"users": 1}
        assert ran == [True]
    finally:
        await kit.aclose()

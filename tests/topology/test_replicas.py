"""Read replicas on a real streaming replica: lists and reports read the replica, login
and anything that must see its own writes read the primary, and a replica that goes away
mid-test costs nothing but a fallback to the primary (never a 5xx)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import PASSWORD, bearer, client_for, login, new_store, register
from tests.helpers import make_settings as settings_for
from tests.topology.conftest import ReplicatedDatabase

pytestmark = pytest.mark.slow


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def kit(replicated: ReplicatedDatabase) -> AsyncIterator[SaaSKit[User]]:
    settings = settings_for(
        replicated.primary_url,
        database_replica_urls=[replicated.replica_url],
        db={"replica_retry_seconds": 30},
    )
    kit = SaaSKit(settings, store=new_store())
    yield kit
    await kit.aclose()


async def admin_headers(kit: SaaSKit[User], client: httpx.AsyncClient) -> dict[str, str]:
    await kit.users.create("root@example.com", PASSWORD, is_superuser=True)
    return bearer((await login(client, "root@example.com"))["access_token"])


async def set_replay(url: str, paused: bool) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            action = "pause" if paused else "resume"
            await connection.execute(text(f"SELECT pg_wal_replay_{action}()"))
    finally:
        await engine.dispose()


async def listed_emails(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    response = await client.get("/api/v1/users", headers=headers)
    assert response.status_code == 200, response.text
    return [user["email"] for user in response.json()["items"]]


async def test_the_user_list_reads_the_replica_while_login_reads_the_primary(
    kit: SaaSKit[User], replicated: ReplicatedDatabase
) -> None:
    async with client_for(kit) as client:
        headers = await admin_headers(kit, client)
        await asyncio.to_thread(replicated.catch_up)
        assert await listed_emails(client, headers) == ["root@example.com"]

        # Freeze the replica: what is written now exists only on the primary.
        await set_replay(replicated.replica_url, paused=True)
        try:
            assert (await register(client, "bob@example.com")).status_code == 201
            # Login must see its own registration: it reads the primary.
            tokens = await login(client, "bob@example.com")
            me = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
            assert me.json()["email"] == "bob@example.com"
            # The admin list tolerates lag: it reads the (frozen) replica.
            assert await listed_emails(client, headers) == ["root@example.com"]
            audit = await client.get("/api/v1/audit", headers=headers)
            assert "register" not in [event["action"] for event in audit.json()["items"]]
        finally:
            await set_replay(replicated.replica_url, paused=False)
        await asyncio.to_thread(replicated.catch_up)
        assert await listed_emails(client, headers) == ["root@example.com", "bob@example.com"]


async def test_a_replica_stopped_mid_test_sends_reads_to_the_primary_without_an_error(
    kit: SaaSKit[User], replicated: ReplicatedDatabase
) -> None:
    clock = FakeClock()
    kit.reads.clock = clock
    async with client_for(kit) as client:
        headers = await admin_headers(kit, client)
        await asyncio.to_thread(replicated.catch_up)
        assert await listed_emails(client, headers) == ["root@example.com"]  # pooled on it

        await asyncio.to_thread(replicated.replica.stop, "immediate")
        assert (await register(client, "bob@example.com")).status_code == 201
        statuses: list[int] = []
        for path in ("/api/v1/users", "/api/v1/audit", "/api/v1/users/2", "/api/v1/users"):
            response = await client.get(path, headers=headers)
            statuses.append(response.status_code)
        assert statuses == [200, 200, 200, 200]
        # Answered by the primary: the registration made while the replica was down shows.
        assert await listed_emails(client, headers) == ["root@example.com", "bob@example.com"]
        assert kit.reads.healthy() == []  # skipped for retry_seconds

        await asyncio.to_thread(replicated.replica.start)
        await asyncio.to_thread(replicated.catch_up)
        clock.now += 31
        assert len(kit.reads.healthy()) == 1
        assert await listed_emails(client, headers) == ["root@example.com", "bob@example.com"]
        assert len(kit.reads.healthy()) == 1  # it answered: back in use


async def test_the_replica_refuses_writes_so_nothing_writes_through_the_read_router(
    kit: SaaSKit[User], replicated: ReplicatedDatabase
) -> None:
    async def write(db: Any) -> None:
        await db.execute(text("CREATE TABLE nope (id int)"))

    with pytest.raises(Exception, match="read-only transaction"):
        await kit.reads.run(write)

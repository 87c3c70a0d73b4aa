"""An unreachable Redis (or Redis Cluster) fails fast as StoreUnavailable, and requests
get 503, not 500."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from saaskit import SaaSKit
from saaskit.exceptions import ServiceUnavailable
from saaskit.store import Store, StoreUnavailable
from saaskit.store.cluster import ClusterStore
from saaskit.store.redis import RedisStore
from tests.helpers import GUARD_SECONDS, PASSWORD, bearer, client_for
from tests.helpers import make_settings as kit_settings


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(params=["redis", "cluster"])
async def dead_store(request: pytest.FixtureRequest) -> AsyncIterator[RedisStore]:
    kind = ClusterStore if request.param == "cluster" else RedisStore
    store = kind(f"redis://127.0.0.1:{closed_port()}/0", socket_timeout=1.0)
    yield store
    await store.close()


OPERATIONS: list[tuple[str, Callable[[Store], Awaitable[Any]]]] = [
    ("get", lambda s: s.get("k")),
    ("get_many", lambda s: s.get_many(["a", "b"])),
    ("put", lambda s: s.put("k", b"v", ttl=5)),
    ("replace", lambda s: s.replace("k", b"v", ttl=5)),
    ("delete", lambda s: s.delete("k")),
    ("compare_and_set", lambda s: s.compare_and_set("k", b"a", b"b")),
    ("hit", lambda s: s.hit("k", 5)),
    ("incr", lambda s: s.incr("k", 1, ttl=5)),
    ("incr_within", lambda s: s.incr_within("k", 1, 10, ttl=5)),
    ("set_add", lambda s: s.set_add("k", "m", ttl=5)),
    ("write_many", lambda s: s.write_many(puts=[("k", b"v", 5)], set_adds=[("s", "m", 5)])),
    ("set_members", lambda s: s.set_members("k")),
]


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[n for n, _ in OPERATIONS])
async def test_closed_port_raises_store_unavailable_quickly(
    dead_store: RedisStore, name: str, operation: Callable[[Store], Awaitable[Any]]
) -> None:
    with pytest.raises(StoreUnavailable) as info:
        async with asyncio.timeout(GUARD_SECONDS):  # a refused connection, not a wait
            await operation(dead_store)

    assert isinstance(info.value, ServiceUnavailable)
    assert info.value.code == "service_unavailable"


async def test_ping_reports_false_instead_of_raising(dead_store: RedisStore) -> None:
    assert await dead_store.ping() is False


async def test_a_silent_server_times_out_instead_of_hanging() -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    store = RedisStore(f"redis://127.0.0.1:{port}/0", socket_timeout=0.3)
    try:
        with pytest.raises(StoreUnavailable):
            async with asyncio.timeout(GUARD_SECONDS):  # the 0.3 s socket timeout fires
                await store.get("k")
    finally:
        await store.close()
        server.close()
        await server.wait_closed()


async def test_protected_routes_and_login_answer_503_when_the_store_is_down(
    database_url: str, dead_store: RedisStore
) -> None:
    kit = SaaSKit(kit_settings(database_url), store=dead_store)
    try:
        user = await kit.users.create("alice@example.com", PASSWORD)
        sid = uuid.uuid4().hex  # well-formed, so the request gets as far as the store
        token, _ = kit.tokens.issue("access", user_id=user.id, session_id=sid)
        refresh_token, _ = kit.tokens.issue("refresh", user_id=user.id, session_id=sid)
        async with client_for(kit) as client:
            me = await client.get("/api/v1/users/me", headers=bearer(token))
            login = await client.post(
                "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
            )
            refresh = await client.post(
                "/api/v1/auth/refresh", json={"refresh_token": refresh_token}
            )
    finally:
        await kit.aclose()

    for response in (me, login, refresh):
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "service_unavailable"

"""saaskit on a real Redis Cluster (3 masters + 3 replicas, started by the harness).

What a user would notice if the cluster support were wrong: ``/me`` costing several round
trips or nodes, a ``CROSSSLOT`` 500 when concurrent requests of different users are
batched into one read, logins half-written, and during a failover a 500, or worse a
revoked session that works again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.store.cluster import ClusterStore, slot_of
from saaskit.store.keys import user_tag
from tests.helpers import GUARD_SECONDS, bearer, build_app, login, make_settings, signed_up
from tests.topology.redis_cluster import RedisCluster, commands_since

pytestmark = pytest.mark.slow


def cluster_settings(database_url: str, cluster: RedisCluster, **overrides: Any) -> Any:
    return make_settings(
        database_url,
        redis_url=cluster.url,
        store={"cluster": True, "prefix": f"t{uuid.uuid4().hex[:8]}:"},
        **overrides,
    )


@pytest.fixture
async def kit(database_url: str, redis_cluster: RedisCluster) -> AsyncIterator[SaaSKit[Any]]:
    kit = SaaSKit(cluster_settings(database_url, redis_cluster))
    assert isinstance(kit.store, ClusterStore)
    yield kit
    await kit.aclose()


@pytest.fixture
async def client(kit: SaaSKit[Any]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def prefixed_slot(kit: SaaSKit[Any], user_id: int) -> int:
    assert isinstance(kit.store, ClusterStore)
    return slot_of(kit.store.prefix + user_tag(user_id) + ":user")


async def test_me_is_one_mget_to_one_node(
    kit: SaaSKit[Any], client: httpx.AsyncClient, redis_cluster: RedisCluster
) -> None:
    tokens = await signed_up(client)
    headers = bearer(tokens["access_token"])
    # The first /me caches the user and opens the connection; the second is the steady state.
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200
    before = redis_cluster.commands()

    response = await client.get("/api/v1/users/me", headers=headers)

    received = commands_since(before, redis_cluster.commands())
    assert response.status_code == 200
    node = redis_cluster.node_of_slot(prefixed_slot(kit, response.json()["id"]))
    assert received == {node.port: {"mget": 1}}


async def test_concurrent_requests_of_many_users_are_batched_per_slot_without_crossslot(
    kit: SaaSKit[Any], client: httpx.AsyncClient, redis_cluster: RedisCluster
) -> None:
    headers = []
    for n in range(12):
        tokens = await signed_up(client, f"user{n}@example.com")
        headers.append(bearer(tokens["access_token"]))
    for each in headers:  # cache every user
        assert (await client.get("/api/v1/users/me", headers=each)).status_code == 200
    before = redis_cluster.commands()

    responses = await asyncio.gather(
        *(client.get("/api/v1/users/me", headers=each) for each in headers)
    )

    received = commands_since(before, redis_cluster.commands())
    assert [r.status_code for r in responses] == [200] * 12
    assert len({r.json()["id"] for r in responses}) == 12
    slots = {prefixed_slot(kit, r.json()["id"]) for r in responses}
    # Only MGETs, at most one per slot (fewer when requests shared a batch and a slot).
    assert {name for counts in received.values() for name in counts} == {"mget"}
    assert sum(counts["mget"] for counts in received.values()) <= len(slots)


async def test_reads_and_writes_across_slots(redis_cluster: RedisCluster) -> None:
    store = ClusterStore(redis_cluster.url, prefix=f"t{uuid.uuid4().hex[:8]}:")
    try:
        keys = [f"{user_tag(n)}:user" for n in range(40)]
        await store.write_many(
            puts=[(key, key.encode(), 60) for key in keys],
            set_adds=[(f"{user_tag(n)}:sessions", "s", 60) for n in range(40)],
        )
        together = await asyncio.gather(
            *(store.get_many([keys[n], "missing", keys[-n - 1]]) for n in range(40))
        )
        assert together == [[keys[n].encode(), None, keys[-n - 1].encode()] for n in range(40)]
        assert await store.set_members(f"{user_tag(7)}:sessions") == {"s"}
        assert await store.delete(*keys) == 40
    finally:
        await store.close()


async def test_compare_and_set_refuses_keys_of_two_slots(redis_cluster: RedisCluster) -> None:
    store = ClusterStore(redis_cluster.url, prefix=f"t{uuid.uuid4().hex[:8]}:")
    try:
        await store.put("{a}:token", b"old")
        with pytest.raises(ValueError, match="hash tag"):
            await store.compare_and_set("{a}:token", b"old", b"new", previous=("{b}:prev", 5))
        assert await store.get("{a}:token") == b"old"
    finally:
        await store.close()


async def until_ok(
    client: httpx.AsyncClient,
    live: dict[str, str],
    revoked: dict[str, str],
    done: Callable[[], bool] | None = None,
) -> tuple[list[int], list[int]]:
    """Ask /me with a live and a revoked session until ``done()`` (default: the live one
    answers 200 again); returns every status each got on the way."""
    seen_live: list[int] = []
    seen_revoked: list[int] = []
    async with asyncio.timeout(GUARD_SECONDS * 2):  # failover takes seconds; a bound, no claim
        while True:
            answers = await asyncio.gather(
                *(client.get("/api/v1/users/me", headers=h) for h in [live] * 8 + [revoked] * 4)
            )
            seen_live += [a.status_code for a in answers[:8]]
            seen_revoked += [a.status_code for a in answers[8:]]
            if done() if done else seen_live[-1] == 200:
                return seen_live, seen_revoked
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("how", ["manual failover", "master killed"])
async def test_a_master_failing_over_costs_503_at_worst_and_revocations_hold(
    kit: SaaSKit[Any], client: httpx.AsyncClient, redis_cluster: RedisCluster, how: str
) -> None:
    live = await signed_up(client, "live@example.com")
    revoked = await login(client, "live@example.com")  # a second session, then logged out
    for tokens in (live, revoked):
        me = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 200
    logout = await client.post("/api/v1/auth/logout", headers=bearer(revoked["access_token"]))
    assert logout.status_code == 204
    user_id = (await client.get("/api/v1/users/me", headers=bearer(live["access_token"]))).json()[
        "id"
    ]
    master = redis_cluster.node_of_slot(prefixed_slot(kit, user_id))
    replica = redis_cluster.replica_of(master)
    # The logout reached the replica (asynchronous replication: a crash before that loses
    # it, on any Redis; see the deployment docs).
    redis_cluster.catch_up(master)

    try:
        if how == "manual failover":
            # Requests keep coming while the replica takes over.
            failing_over = asyncio.create_task(asyncio.to_thread(redis_cluster.failover, replica))
            during = await until_ok(
                client,
                bearer(live["access_token"]),
                bearer(revoked["access_token"]),
                done=failing_over.done,
            )
            await failing_over
        else:
            master.kill()
            during = await until_ok(
                client, bearer(live["access_token"]), bearer(revoked["access_token"])
            )
        after = await until_ok(
            client, bearer(live["access_token"]), bearer(revoked["access_token"])
        )
        again = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": revoked["refresh_token"]}
        )
    finally:
        redis_cluster.heal()

    print(f"{how}: live session {during[0]}, revoked session {during[1]}")
    assert set(during[0]) <= {200, 503}, during
    assert set(during[1]) <= {401, 503}, during  # never let through, never a 500
    assert redis_cluster.node_of_slot(prefixed_slot(kit, user_id)).port == replica.port
    assert set(after[0]) == {200}
    assert set(after[1]) == {401}
    assert again.status_code == 401

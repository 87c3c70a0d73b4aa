"""The Store protocol: the same behaviour from MemoryStore, RedisStore and ClusterStore
(on the session's 3-master Redis Cluster, where multi-key operations span slots)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from saaskit.store import CasResult, MemoryStore, Store
from tests.helpers import TEST_REDIS_URL


async def _redis_store(prefix: str) -> Store:
    if not TEST_REDIS_URL:
        pytest.skip("SAASKIT_TEST_REDIS_URL is not set")
    from saaskit.store.redis import RedisStore

    return RedisStore(TEST_REDIS_URL, prefix=prefix)


async def _drop_prefixed_keys(store: Store) -> None:
    from saaskit.store.redis import RedisStore

    assert isinstance(store, RedisStore)
    client = store._client
    keys = [key async for key in client.scan_iter(match=f"{store.prefix}*")]
    if keys:
        await client.delete(*keys)


class FakeClock:
    """A monotonic clock that moves only when told (for the in-process store)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis", "cluster"])
async def store(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[Store]:
    if request.param == "memory":
        memory = MemoryStore(clock=clock)
        yield memory
        await memory.close()
        return
    prefix = f"test:{uuid.uuid4().hex}:"
    if request.param == "cluster":
        from saaskit.store.cluster import ClusterStore

        cluster = request.getfixturevalue("redis_cluster")
        redis: Store = ClusterStore(cluster.url, prefix=prefix)
    else:
        redis = await _redis_store(prefix)
    yield redis
    await _drop_prefixed_keys(redis)
    await redis.close()


@pytest.fixture
def elapse(store: Store, clock: FakeClock) -> Callable[[float], Awaitable[None]]:
    """Let ``seconds`` pass for ``store``: the fake clock moves for the in-process store;
    Redis expires keys on its own clock, so there the test waits."""

    async def elapse(seconds: float) -> None:
        if isinstance(store, MemoryStore):
            clock.now += seconds
        else:
            await asyncio.sleep(seconds)

    return elapse


async def test_get_put_and_overwrite(store: Store) -> None:
    assert await store.get("k") is None

    await store.put("k", b"one")
    assert await store.get("k") == b"one"
    await store.put("k", b"two", ttl=60)
    assert await store.get("k") == b"two"


async def test_get_many_keeps_the_order_and_reports_missing_keys(store: Store) -> None:
    await store.put("a", b"1")
    await store.put("c", b"3")

    assert await store.get_many(["c", "b", "a"]) == [b"3", None, b"1"]
    assert await store.get_many([]) == []


async def test_delete_counts_the_keys_that_existed(store: Store) -> None:
    await store.put("a", b"1")
    await store.put("b", b"2")

    assert await store.delete("a", "b", "missing") == 2
    assert await store.get_many(["a", "b"]) == [None, None]
    assert await store.delete("a") == 0
    assert await store.delete() == 0


async def test_claim_sets_a_key_only_once(store: Store) -> None:
    assert await store.claim("once", ttl=60, value=b"first") is True
    assert await store.claim("once", ttl=60, value=b"second") is False

    assert await store.get("once") == b"first"
    await store.delete("once")
    assert await store.claim("once", ttl=60) is True


async def test_replace_updates_only_a_key_that_exists(store: Store) -> None:
    assert await store.replace("gone", b"zombie", ttl=60) is False
    assert await store.get("gone") is None  # a deleted record is never re-created

    await store.put("live", b"v1", ttl=60)
    assert await store.replace("live", b"v2", ttl=60) is True
    assert await store.get("live") == b"v2"


async def test_incr_within_adds_only_what_fits(store: Store) -> None:
    assert await store.incr_within("quota", 60, 100, ttl=60) == (True, 60)
    assert await store.incr_within("quota", 50, 100, ttl=60) == (False, 60)  # would be 110
    assert await store.get("quota") == b"60"  # a refused addition never shows
    assert await store.incr_within("quota", 40, 100) == (True, 100)


async def test_concurrent_incr_within_never_passes_the_maximum(store: Store) -> None:
    outcomes = await asyncio.gather(*(store.incr_within("pool", 30, 100) for _ in range(10)))

    assert [added for added, _ in outcomes].count(True) == 3
    assert await store.get("pool") == b"90"


async def test_compare_and_set_outcomes(store: Store) -> None:
    assert await store.compare_and_set("k", b"old", b"new") is CasResult.MISSING
    assert await store.get("k") is None

    await store.put("k", b"old", ttl=60)
    assert await store.compare_and_set("k", b"other", b"new") is CasResult.MISMATCH
    assert await store.get("k") == b"old"
    assert await store.compare_and_set("k", b"old", b"new") is CasResult.SWAPPED
    assert await store.get("k") == b"new"
    assert await store.compare_and_set("k", b"old", b"newer") is CasResult.MISMATCH


async def test_concurrent_compare_and_set_has_exactly_one_winner(store: Store) -> None:
    await store.put("token", b"v1", ttl=60)

    outcomes = await asyncio.gather(
        *(store.compare_and_set("token", b"v1", f"v2-{i}".encode()) for i in range(20))
    )

    assert outcomes.count(CasResult.SWAPPED) == 1
    assert outcomes.count(CasResult.MISMATCH) == 19
    winner = outcomes.index(CasResult.SWAPPED)
    assert await store.get("token") == f"v2-{winner}".encode()


async def test_hit_counts_within_the_window(store: Store) -> None:
    first = await store.hit("login:alice", 60)
    second = await store.hit("login:alice", 60)
    third = await store.hit("login:alice", 60)
    other = await store.hit("login:bob", 60)

    assert [first[0], second[0], third[0], other[0]] == [1, 2, 3, 1]
    assert all(0 < reset <= 60 for _, reset in (first, second, third, other))


async def test_concurrent_hits_are_all_counted(store: Store) -> None:
    results = await asyncio.gather(*(store.hit("burst", 60) for _ in range(30)))

    assert sorted(count for count, _ in results) == list(range(1, 31))


async def test_incr_adds_and_returns_the_total(store: Store) -> None:
    assert await store.incr("tokens", 5, ttl=60) == 5
    assert await store.incr("tokens", 7, ttl=60) == 12
    assert await store.incr("tokens", -2) == 10
    assert await store.get("tokens") == b"10"
    assert await store.incr("other", 1) == 1


async def test_sets_add_list_and_remove_members(store: Store) -> None:
    assert await store.set_members("s") == set()

    await store.set_add("s", "a", ttl=60)
    await store.set_add("s", "b")
    await store.set_add("s", "a")
    assert await store.set_members("s") == {"a", "b"}

    await store.set_remove("s", "a")
    await store.set_remove("s", "missing")
    assert await store.set_members("s") == {"b"}
    await store.set_remove("s", "b")
    assert await store.set_members("s") == set()


async def test_write_many_stores_values_and_set_members_with_their_ttls(
    store: Store, elapse: Callable[[float], Awaitable[None]]
) -> None:
    await store.put("a", b"old")

    await store.write_many(
        puts=[("a", b"new", None), ("b", b"brief", 1)],
        set_adds=[("s", "x", 1), ("s", "y", 1), ("t", "z", None)],
    )

    assert await store.get_many(["a", "b"]) == [b"new", b"brief"]
    assert await store.set_members("s") == {"x", "y"}
    await elapse(1.1)
    assert await store.get_many(["a", "b"]) == [b"new", None]
    assert await store.set_members("s") == set()
    assert await store.set_members("t") == {"z"}
    await store.write_many()  # nothing to write is fine


async def test_ping(store: Store) -> None:
    assert await store.ping() is True


async def test_values_with_a_ttl_expire_and_the_rest_survive(
    store: Store, elapse: Callable[[float], Awaitable[None]]
) -> None:
    await store.put("short", b"x", ttl=1)
    await store.put("forever", b"y")
    await store.put("swapped", b"old", ttl=1)
    assert await store.compare_and_set("swapped", b"old", b"new") is CasResult.SWAPPED
    await store.incr("counter", 3, ttl=1)
    await store.set_add("members", "m", ttl=1)
    assert await store.claim("claimed", ttl=1) is True
    assert (await store.hit("window", 1))[0] == 1
    assert (await store.hit("window", 1))[0] == 2

    await elapse(1.1)

    assert await store.get_many(["short", "swapped", "counter", "claimed"]) == [None] * 4
    assert await store.get("forever") == b"y"
    assert await store.set_members("members") == set()
    assert await store.incr("counter", 1, ttl=60) == 1
    assert (await store.hit("window", 1))[0] == 1
    assert await store.claim("claimed", ttl=60) is True


async def test_redis_stores_with_different_prefixes_share_nothing() -> None:
    first = await _redis_store(f"test:{uuid.uuid4().hex}:")
    second = await _redis_store(f"test:{uuid.uuid4().hex}:")
    try:
        await first.put("k", b"first")

        assert await second.get("k") is None
        assert await first.get("k") == b"first"
    finally:
        for store in (first, second):
            await _drop_prefixed_keys(store)
            await store.close()


async def test_the_memory_store_expires_entries_on_its_own_clock_without_waiting() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    await store.put("k", b"v", ttl=2)
    await store.set_add("s", "m", ttl=2)

    clock.now += 1.999
    assert await store.get("k") == b"v"
    assert await store.set_members("s") == {"m"}
    clock.now += 0.001
    assert await store.get("k") is None
    assert await store.set_members("s") == set()

"""Response caching in the store (``kit.cache``), on Redis or the in-process store:
per-scope entries, one store round trip for a hit, explicit invalidation of one entry
or of a whole scope, and a store outage that only costs the cache."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from saaskit.cache import ResponseCache
from saaskit.store import Store, StoreUnavailable
from tests.docs.helpers import SNIPPETS, load_path
from tests.helpers import PASSWORD, bearer, client_for, login, new_store


class CountingStore:
    """Forwards to a real store and counts the calls that reach it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.store, name)
        if not callable(attribute):
            return attribute

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return await attribute(*args, **kwargs)

        return counted

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        self.calls.append("get_many")
        return await self.store.get_many(keys)


@pytest.fixture
async def store() -> AsyncIterator[CountingStore]:
    real = new_store()
    yield CountingStore(real)
    await real.close()


@pytest.fixture
def cache(store: CountingStore) -> ResponseCache:
    return ResponseCache(store)


class Builder:
    def __init__(self) -> None:
        self.builds = 0

    async def __call__(self) -> dict[str, int]:
        self.builds += 1
        return {"build": self.builds}


async def test_a_cached_response_is_built_once_and_a_hit_costs_one_store_round_trip(
    cache: ResponseCache, store: CountingStore
) -> None:
    build = Builder()
    scope = cache.user(1)
    assert await cache.get_or_build(scope, "reports", build, ttl=60) == {"build": 1}
    store.calls.clear()
    assert await cache.get_or_build(scope, "reports", build, ttl=60) == {"build": 1}
    assert build.builds == 1
    assert store.calls == ["get_many"]  # entry and generation in one MGET


async def test_users_and_organizations_have_entries_of_their_own(cache: ResponseCache) -> None:
    build = Builder()
    values = [
        await cache.get_or_build(scope, "reports", build, ttl=60)
        for scope in (cache.user(1), cache.user(2), cache.organization(1), cache.shared())
    ]
    assert values == [{"build": 1}, {"build": 2}, {"build": 3}, {"build": 4}]


async def test_invalidating_one_entry_rebuilds_only_it(cache: ResponseCache) -> None:
    reports, usage = Builder(), Builder()
    scope = cache.user(1)
    await cache.get_or_build(scope, "reports", reports, ttl=60)
    await cache.get_or_build(scope, "usage", usage, ttl=60)
    await cache.invalidate(scope, "reports")
    assert await cache.get_or_build(scope, "reports", reports, ttl=60) == {"build": 2}
    assert await cache.get_or_build(scope, "usage", usage, ttl=60) == {"build": 1}


async def test_invalidating_a_scope_rebuilds_all_of_its_entries_and_no_others(
    cache: ResponseCache,
) -> None:
    build = Builder()
    alice, bob = cache.user(1), cache.user(2)
    for scope, name in ((alice, "a"), (alice, "b"), (bob, "a")):
        await cache.get_or_build(scope, name, build, ttl=60)
    await cache.invalidate(alice)
    assert (await cache.get(alice, "a"), await cache.get(alice, "b")) == ((False, None),) * 2
    assert await cache.get(bob, "a") == (True, {"build": 3})


async def test_an_invalidation_while_a_response_is_built_is_not_lost(
    cache: ResponseCache,
) -> None:
    scope = cache.organization(7)

    async def build_while_someone_changes_the_data() -> str:
        await cache.invalidate(scope)  # a write lands after we read, before we store
        return "stale"

    await cache.get_or_build(scope, "members", build_while_someone_changes_the_data, ttl=60)
    assert await cache.get(scope, "members") == (False, None)


async def test_a_degraded_answer_is_returned_but_not_cached(cache: ResponseCache) -> None:
    scope = cache.shared()
    value = await cache.get_or_build(
        scope, "plans", Builder(), ttl=60, cacheable=lambda value: False
    )
    assert value == {"build": 1}
    assert await cache.get(scope, "plans") == (False, None)


async def test_a_store_that_is_down_costs_the_cache_not_the_response() -> None:
    from saaskit.store.redis import RedisStore
    from tests.ports import free_port

    dead = RedisStore(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.5)
    cache = ResponseCache(dead)
    try:
        with pytest.raises(StoreUnavailable):
            await cache.get(cache.user(1), "reports")
        assert await cache.get_or_build(cache.user(1), "reports", Builder(), ttl=60) == {"build": 1}
    finally:
        await dead.close()


async def test_the_documented_route_serves_from_the_cache_until_it_invalidates(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAASKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("SAASKIT_SECRET_KEY", "docs-test-secret-key-0123456789abcdefghij")
    monkeypatch.setenv("SAASKIT_AUTH__BCRYPT_ROUNDS", "4")
    monkeypatch.delenv("SAASKIT_REDIS_URL", raising=False)
    module = load_path(SNIPPETS / "response_cache.py", monkeypatch)
    kit = module.kit
    try:
        await kit.users.create("alice@example.com", PASSWORD)
        async with client_for(kit, module.app) as client:
            headers = bearer((await login(client, "alice@example.com"))["access_token"])
            assert (await client.get("/api/v1/summary", headers=headers)).json()["notes"] == 0
            module.NOTES.setdefault(1, []).append("written behind the cache's back")
            # Served from the cache: the change made without invalidating is not seen.
            assert (await client.get("/api/v1/summary", headers=headers)).json()["notes"] == 0
            added = await client.post("/api/v1/notes?text=hello", headers=headers)
            assert added.status_code == 201
            summary = (await client.get("/api/v1/summary", headers=headers)).json()
            assert summary == {"notes": 2, "latest": "hello"}
    finally:
        await kit.aclose()

"""The store keys of a user share one hash tag, the hot path is one round trip, and the
sessions of the previous key scheme keep working after an upgrade."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy import event

from saaskit import SaaSKit
from saaskit.models import User
from saaskit.store import Store
from saaskit.store.keys import hash_tag
from tests.helpers import (
    KitFactory,
    bearer,
    client_for,
    login,
    new_store,
    register,
    signed_up,
)
from tests.helpers import (
    make_settings as kit_settings,
)


class CountingStore:
    """The store, with a log of every call (method and keys)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if not callable(method):
            return method

        async def logged(*args: Any, **kwargs: Any) -> Any:
            keys = args[0] if args and isinstance(args[0], list | tuple) else args[:1]
            self.calls.append((name, tuple(str(k) for k in keys)))
            return await method(*args, **kwargs)

        return logged


async def test_a_protected_route_costs_one_store_round_trip_in_one_hash_slot(
    database_url: str,
) -> None:
    store = CountingStore(new_store())
    kit: SaaSKit[User] = SaaSKit(kit_settings(database_url), store=store)
    try:
        async with client_for(kit) as client:
            token = (await signed_up(client))["access_token"]
            queries: list[str] = []
            event.listen(
                kit.engine.sync_engine, "before_cursor_execute", lambda *a: queries.append(a[2])
            )
            store.calls.clear()

            me = await client.get("/api/v1/users/me", headers=bearer(token))

        assert me.status_code == 200
        assert queries == []
        assert [name for name, _ in store.calls] == ["get_many"]
        (_, keys) = store.calls[0]
        assert len(keys) == 2  # the session and the cached user
        assert {hash_tag(k) for k in keys} == {"u:1"}
    finally:
        await kit.aclose()


def _every_key(calls: Sequence[tuple[str, tuple[str, ...]]]) -> list[tuple[str, ...]]:
    return [keys for name, keys in calls if len(keys) > 1]


async def test_every_multi_key_command_of_a_login_stays_in_one_hash_slot(
    database_url: str,
) -> None:
    store = CountingStore(new_store())
    kit: SaaSKit[User] = SaaSKit(kit_settings(database_url), store=store)
    try:
        async with client_for(kit) as client:
            tokens = await signed_up(client)
            await client.post(
                "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            await client.get("/api/v1/auth/sessions", headers=bearer(tokens["access_token"]))
            fresh = await login(client)
            await client.post("/api/v1/auth/logout-all", headers=bearer(fresh["access_token"]))
        for keys in _every_key(store.calls):
            assert len({hash_tag(k) for k in keys}) == 1, keys
    finally:
        await kit.aclose()


async def _move_to_legacy_keys(kit: SaaSKit[User], user_id: int, session_id: str) -> None:
    """Store a session the way saaskit 0.x did (``sess:<sid>``, ``user-sess:<uid>``)."""
    store = kit.store
    tag = f"{{u:{user_id}}}"
    record, digest = await store.get_many(
        [f"{tag}:sess:{session_id}", f"{tag}:sess:{session_id}:rt"]
    )
    assert record is not None
    assert digest is not None
    await store.put(f"sess:{session_id}", record, ttl=3600)
    await store.put(f"sess:{session_id}:rt", digest, ttl=3600)
    await store.set_add(f"user-sess:{user_id}", session_id, ttl=3600)
    await store.delete(f"{tag}:sess:{session_id}", f"{tag}:sess:{session_id}:rt")
    await store.set_remove(f"{tag}:sessions", session_id)


def _session_id(kit: SaaSKit[User], tokens: dict[str, Any]) -> str:
    return kit.tokens.decode(tokens["access_token"], "access").session_id


async def test_sessions_of_the_previous_key_scheme_keep_working_after_an_upgrade(
    kit: SaaSKit[User], client: httpx.AsyncClient
) -> None:
    assert (await register(client)).status_code == 201
    used, idle = await login(client), await login(client)
    for tokens in (used, idle):
        await _move_to_legacy_keys(kit, 1, _session_id(kit, tokens))

    assert (
        await client.get("/api/v1/users/me", headers=bearer(used["access_token"]))
    ).status_code == 200
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": used["refresh_token"]}
    )
    assert refreshed.status_code == 200
    listed = await client.get(
        "/api/v1/auth/sessions", headers=bearer(refreshed.json()["access_token"])
    )
    assert len(listed.json()) == 2  # the idle one is listed too
    # Nothing of the old keys is left to bring a session back after it ends.
    assert await kit.store.get(f"sess:{_session_id(kit, used)}") is None


async def test_logout_all_ends_sessions_of_the_previous_key_scheme_never_used_since(
    kit: SaaSKit[User], client: httpx.AsyncClient
) -> None:
    assert (await register(client)).status_code == 201
    current, idle = await login(client), await login(client)
    await _move_to_legacy_keys(kit, 1, _session_id(kit, idle))

    ended = await client.post("/api/v1/auth/logout-all", headers=bearer(current["access_token"]))

    assert ended.status_code == 204
    assert (
        await client.get("/api/v1/users/me", headers=bearer(idle["access_token"]))
    ).status_code == 401
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": idle["refresh_token"]}
    )
    assert refresh.status_code == 401


async def test_without_legacy_keys_a_session_of_the_previous_scheme_must_log_in_again(
    make_kit: KitFactory,
) -> None:
    kit = await make_kit(store={"legacy_session_keys": False})
    async with client_for(kit) as client:
        tokens = await signed_up(client)
        await _move_to_legacy_keys(kit, 1, _session_id(kit, tokens))
        me = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "invalid_token"


async def test_a_token_naming_another_user_than_its_session_is_refused_under_both_schemes(
    kit: SaaSKit[User], client: httpx.AsyncClient
) -> None:
    alice = await signed_up(client)
    await signed_up(client, "bob@example.com")
    alice_sid = _session_id(kit, alice)
    await _move_to_legacy_keys(kit, 1, alice_sid)
    forged, _ = kit.tokens.issue("access", user_id=2, session_id=alice_sid)
    me = await client.get("/api/v1/users/me", headers=bearer(forged))
    assert me.status_code == 401
    # Alice's session is untouched and still under the old keys until she uses it.
    assert await kit.store.get(f"sess:{alice_sid}") is not None

"""API keys: creation, use through the kit's dependencies, scopes, expiry, revocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event, select

from saaskit import SaaSKit
from saaskit.apikeys import format as key_format
from tests.apikeys.conftest import host_app, make
from tests.apikeys.helpers import KEYS, key_header, new_key
from tests.helpers import answer, bearer, client_for, new_store, signed_up
from tests.orgs.helpers import verified


async def test_a_key_is_shown_once_and_reaches_me_and_host_routes(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    session = await verified(kit, client, "alice@example.com")
    created = await new_key(client, session, ["reports:read"])
    key = created["key"]
    assert key.startswith("sk_test_")
    assert key_format.parse("sk_test_", key) is not None
    listed = (await client.get(KEYS, headers=session)).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert all(key not in str(value) for value in listed[0].values())
    # Stored: only the keyed hash, by the public id.
    table = kit.models.tables["api_key"]
    async with kit.session_factory() as db:
        row = (await db.scalars(select(table))).one()
    assert row.public_id == created["id"]
    assert row.secret_hash != key
    assert key not in row.secret_hash
    for headers in (bearer(key), key_header(key)):
        me = await client.get("/api/v1/users/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["email"] == "alice@example.com"
        reports = await client.get("/reports", headers=headers)
        assert reports.json()["method"] == "api_key"


async def test_scopes_are_enforced(kit: SaaSKit[Any], client: httpx.AsyncClient) -> None:
    session = await verified(kit, client, "alice@example.com")
    key = (await new_key(client, session, ["reports:read"]))["key"]
    assert (await client.get("/reports", headers=key_header(key))).status_code == 200
    refused = await client.post("/reports", headers=key_header(key))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    # A session has every scope.
    assert (await client.post("/reports", headers=session)).status_code == 200
    # A scope the app does not declare cannot be granted.
    bad = await client.post(KEYS, json={"name": "x", "scopes": ["admin:all"]}, headers=session)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "api_key_scope_invalid"
    star = await client.post(KEYS, json={"name": "x", "scopes": ["*"]}, headers=session)
    assert star.status_code == 422


async def test_an_expired_key_is_refused(kit: SaaSKit[Any], client: httpx.AsyncClient) -> None:
    session = await verified(kit, client, "alice@example.com")
    expires = datetime.now(UTC) + timedelta(hours=1)
    key = (await new_key(client, session, expires_at=expires.isoformat()))["key"]
    assert (await client.get("/whoami", headers=key_header(key))).status_code == 200
    later = expires.timestamp() + 1
    kit.api_keys.clock = lambda: later
    refused = await client.get("/whoami", headers=key_header(key))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_token"
    past = await client.post(
        KEYS,
        json={"name": "x", "expires_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat()},
        headers=session,
    )
    assert past.status_code == 422


async def test_a_revoked_key_is_refused_at_once(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    session = await verified(kit, client, "alice@example.com")
    created = await new_key(client, session)
    assert (await client.get("/whoami", headers=key_header(created["key"]))).status_code == 200
    revoked = await client.delete(f"{KEYS}/{created['id']}", headers=session)
    assert revoked.status_code == 204
    assert (await client.get("/whoami", headers=key_header(created["key"]))).status_code == 401
    assert (await client.get(KEYS, headers=session)).json() == []
    again = await client.delete(f"{KEYS}/{created['id']}", headers=session)
    assert again.status_code == 404


async def test_a_revocation_is_seen_at_once_by_a_second_app_process(database_url: str) -> None:
    first_store, second_store = _shared_stores()
    first = make(database_url, first_store)
    second = make(database_url, second_store)
    try:
        async with (
            client_for(first, host_app(first)) as a,
            client_for(second, host_app(second)) as b,
        ):
            session = await verified(first, a, "alice@example.com")
            created = await new_key(a, session)
            key = key_header(created["key"])
            # The second process has the key cached (its record is in the shared store).
            assert (await b.get("/whoami", headers=key)).status_code == 200
            assert (await b.get("/whoami", headers=key)).status_code == 200
            assert (await a.delete(f"{KEYS}/{created['id']}", headers=session)).status_code == 204
            assert (await b.get("/whoami", headers=key)).status_code == 401
    finally:
        await first.aclose()
        await second.aclose()


def _shared_stores() -> tuple[Any, Any]:
    """Two store clients on one store: Redis (two connections) or one in-process store."""
    from tests.helpers import TEST_REDIS_URL

    if TEST_REDIS_URL:
        import uuid

        from saaskit.store.redis import RedisStore

        prefix = f"test:{uuid.uuid4().hex}:"
        return RedisStore(TEST_REDIS_URL, prefix=prefix), RedisStore(TEST_REDIS_URL, prefix=prefix)
    store = new_store()
    return store, _Unclosed(store)


class _Unclosed:
    """The same in-process store, closed once (by its first kit)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def close(self) -> None:
        return None


async def test_a_wrong_checksum_is_refused_without_any_lookup(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    session = await verified(kit, client, "alice@example.com")
    key: str = (await new_key(client, session))["key"]
    last = key[-1]
    wrong = key[:-1] + ("A" if last != "A" else "B")
    reads: list[Any] = []
    queries: list[str] = []
    original = kit.store.get_many

    async def counting(keys: Any) -> Any:
        reads.append(keys)
        return await original(keys)

    kit.store.get_many = counting  # type: ignore[method-assign]
    listener = lambda *args: queries.append(args[2])  # noqa: E731
    event.listen(kit.engine.sync_engine, "before_cursor_execute", listener)
    try:
        for headers in (key_header(wrong), bearer(wrong)):
            refused = await client.get("/whoami", headers=headers)
            assert refused.status_code == 401
            # A route with a body: refused before the body is read.
            assert (await client.post("/reports", headers=headers, json={})).status_code == 401
        # Made-up keys of the right shape, and garbage after the prefix.
        for made_up in ("sk_test_1_" + "A" * 50, "sk_test_" + "x" * 10):
            assert (await client.get("/whoami", headers=key_header(made_up))).status_code == 401
    finally:
        event.remove(kit.engine.sync_engine, "before_cursor_execute", listener)
        kit.store.get_many = original  # type: ignore[method-assign]
    assert reads == []
    assert queries == []


async def test_a_cache_hit_runs_no_sql(kit: SaaSKit[Any], client: httpx.AsyncClient) -> None:
    session = await verified(kit, client, "alice@example.com")
    key = (await new_key(client, session, ["reports:read"]))["key"]
    assert (await client.get("/reports", headers=key_header(key))).status_code == 200
    queries: list[str] = []
    listener = lambda *args: queries.append(args[2])  # noqa: E731
    event.listen(kit.engine.sync_engine, "before_cursor_execute", listener)
    try:
        for _ in range(3):
            assert (await client.get("/reports", headers=key_header(key))).status_code == 200
            assert (await client.get("/api/v1/users/me", headers=bearer(key))).status_code == 200
    finally:
        event.remove(kit.engine.sync_engine, "before_cursor_execute", listener)
    assert queries == []


async def test_keys_are_refused_on_routes_that_need_a_session(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    session = await verified(kit, client, "alice@example.com")
    created = await new_key(client, session, ["reports:read"])
    key = key_header(created["key"])
    refused = [
        await client.patch("/api/v1/users/me", json={"full_name": "Mallory"}, headers=key),
        await client.delete("/api/v1/users/me", headers=key),
        await client.post(
            "/api/v1/users/me/password",
            json={"current_password": "x", "new_password": "y" * 12},
            headers=key,
        ),
        await client.post("/api/v1/auth/logout", headers=key),
        await client.post("/api/v1/auth/logout-all", headers=key),
        await client.get("/api/v1/auth/sessions", headers=key),
        await client.post(KEYS, json={"name": "more"}, headers=key),
        await client.get(KEYS, headers=key),
        await client.patch(f"{KEYS}/{created['id']}", json={"name": "x"}, headers=key),
        await client.delete(f"{KEYS}/{created['id']}", headers=key),
        await client.post("/api/v1/orgs", json={"name": "Acme"}, headers=key),
    ]
    statuses = [(r.request.method, r.request.url.path, r.status_code) for r in refused]
    assert all(status == 401 for *_, status in statuses), statuses
    # The key still works, and the read-only routes take it.
    assert (await client.get("/api/v1/users/me", headers=key)).status_code == 200
    assert (await client.get("/api/v1/orgs", headers=key)).status_code == 200


async def test_a_deactivated_or_deleted_user_s_keys_stop(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    session = await verified(kit, client, "alice@example.com")
    key = key_header((await new_key(client, session))["key"])
    user = await kit.users.get_by_email("alice@example.com")
    assert user is not None
    assert (await client.get("/whoami", headers=key)).status_code == 200
    await kit.users.update(user.id, {"is_active": False})
    assert (await client.get("/whoami", headers=key)).status_code == 401
    await kit.users.update(user.id, {"is_active": True})
    assert (await client.get("/whoami", headers=key)).status_code == 200
    await kit.users.delete(user.id)
    assert (await client.get("/whoami", headers=key)).status_code == 401


async def test_a_key_for_another_owner_or_another_prefix_is_refused(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    session = await verified(kit, client, "alice@example.com")
    key: str = (await new_key(client, session))["key"]
    # The owner part names another user: its checksum is recomputed, the hash still fails.
    owner, _, tail = key[len("sk_test_") :].partition("_")
    body = f"sk_test_{owner}0_{tail[:-6]}"
    forged = body + key_format.checksum(body)
    assert (await client.get("/whoami", headers=key_header(forged))).status_code == 401
    # Someone else's token form (a live key) is never read as a session token.
    live = "sk_live_" + key[len("sk_test_") :]
    assert (await client.get("/whoami", headers=key_header(live))).status_code == 401
    # A key in the URL is not a credential.
    assert (await client.get(f"/whoami?api_key={key}")).status_code == 401
    # Two credentials at once are refused.
    both = {**key_header(key), **session}
    assert (await client.get("/whoami", headers=both)).status_code == 401


async def test_audit_events_for_create_revoke_and_a_new_ip(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    session = await verified(kit, client, "alice@example.com")
    created = await new_key(client, session)
    key = key_header(created["key"])
    for _ in range(3):
        assert (await client.get("/whoami", headers=key)).status_code == 200
    await client.delete(f"{KEYS}/{created['id']}", headers=session)
    table = kit.models.audit_event
    async with kit.session_factory() as db:
        rows = (await db.scalars(select(table).order_by(table.id))).all()
    events = [(r.action, (r.detail or {}).get("key_id")) for r in rows if "api_key" in r.action]
    assert events == [
        ("api_key_created", created["id"]),
        ("api_key_new_ip", created["id"]),  # once: the IP is remembered
        ("api_key_revoked", created["id"]),
    ]
    assert all(created["key"] not in str(r.detail) for r in rows)


async def test_last_use_is_written_in_batches(kit: SaaSKit[Any], client: httpx.AsyncClient) -> None:
    session = await verified(kit, client, "alice@example.com")
    created = await new_key(client, session)
    now = 1_000_000_000.0
    kit.api_keys.clock = lambda: now
    kit.api_keys._next_flush = now + 60
    assert (await client.get("/whoami", headers=key_header(created["key"]))).status_code == 200
    listed = (await client.get(KEYS, headers=session)).json()
    assert listed[0]["last_used_at"] is None  # not written per request
    assert await kit.api_keys.flush() == 1
    listed = (await client.get(KEYS, headers=session)).json()
    assert listed[0]["last_used_at"] is not None
    assert listed[0]["last_used_ip"] == "127.0.0.1"
    assert await kit.api_keys.flush() == 0


async def test_a_key_over_its_rate_limit_gets_429(database_url: str) -> None:
    kit = make(database_url, rate_limit="3/1m")
    try:
        async with client_for(kit, host_app(kit)) as client:
            session = await verified(kit, client, "alice@example.com")
            key = key_header((await new_key(client, session))["key"])
            for _ in range(3):
                assert (await client.get("/whoami", headers=key)).status_code == 200
            limited = await client.get("/whoami", headers=key)
            assert limited.status_code == 429
            assert int(limited.headers["Retry-After"]) >= 1
            # The limit is per key: the session is not limited.
            assert (await client.get("/whoami", headers=session)).status_code == 200
    finally:
        await kit.aclose()


async def test_refused_keys_are_counted_per_client_ip(database_url: str) -> None:
    kit = make(database_url, failures_per_ip="3/5m")
    try:
        async with client_for(kit, host_app(kit)) as client:
            await signed_up(client, "alice@example.com")
            made_up = "sk_test_1_" + "A" * 44
            made_up += key_format.checksum(made_up)[:6]
            made_up = made_up[:-6] + key_format.checksum(made_up[:-6])
            statuses = [
                (await client.get("/whoami", headers=key_header(made_up))).status_code
                for _ in range(5)
            ]
            assert statuses == [401, 401, 401, 429, 429]
    finally:
        await kit.aclose()


async def test_the_revocation_race_cannot_put_a_revoked_key_back(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    """A request that read the live row just before the revocation fills the cache after
    it: the fill is NX and the tombstone is there, so the key stays refused."""
    session = await verified(kit, client, "alice@example.com")
    created = await new_key(client, session)
    user = await kit.users.get_by_email("alice@example.com")
    assert user is not None
    service = kit.api_keys
    original_scalar_row = await _row(kit, created["id"])
    await service.revoke(created["id"], user_id=user.id)
    # The late fill of the request that read the row before the revocation:
    from saaskit.apikeys.service import KeyRecord, record_key

    stale = KeyRecord.of(original_scalar_row)
    assert not stale.revoked
    filled = await kit.store.claim(
        record_key(user.id, created["id"]), service.settings.cache_seconds, stale.encode()
    )
    assert filled is False
    assert (await client.get("/whoami", headers=key_header(created["key"]))).status_code == 401


async def _row(kit: SaaSKit[Any], public_id: str) -> Any:
    table = kit.models.tables["api_key"]
    async with kit.session_factory() as db:
        return (await db.scalars(select(table).where(table.public_id == public_id))).one()


async def test_rename_and_the_switch(
    kit: SaaSKit[Any], client: httpx.AsyncClient, database_url: str
) -> None:
    session = await verified(kit, client, "alice@example.com")
    created = await new_key(client, session)
    renamed = await client.patch(
        f"{KEYS}/{created['id']}", json={"name": "deploy"}, headers=session
    )
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "deploy"
    off = make(database_url, enabled=False)
    try:
        async with client_for(off, host_app(off)) as other:
            assert (await other.get(KEYS, headers=session)).status_code == 404
            refused = await other.get("/whoami", headers=key_header(created["key"]))
            assert refused.status_code == 401
    finally:
        await off.aclose()


async def test_every_refused_key_gets_the_same_answer(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    """No oracle: malformed, unknown, wrong secret, revoked and expired read alike."""
    session = await verified(kit, client, "alice@example.com")
    live: str = (await new_key(client, session))["key"]
    revoked = await new_key(client, session)
    await client.delete(f"{KEYS}/{revoked['id']}", headers=session)
    expiring: str = (
        await new_key(
            client, session, expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat()
        )
    )["key"]
    owner, _, tail = live[len("sk_test_") :].partition("_")
    other_secret = f"sk_test_{owner}_{tail[:12]}{'Z' * 32}"
    other_secret += key_format.checksum(other_secret)
    unknown = f"sk_test_{owner}_{'Q' * 44}"
    unknown += key_format.checksum(unknown)
    later = datetime.now(UTC).timestamp() + 7200
    kit.api_keys.clock = lambda: later
    answers = []
    for bad in ("sk_test_nope", unknown, other_secret, revoked["key"], expiring):
        response = await client.get("/whoami", headers=key_header(bad))
        answers.append((response.status_code, answer(response)))
    assert all(a == answers[0] for a in answers), answers
    assert answers[0][0] == 401


async def test_a_superuser_s_key_does_not_reach_user_administration_or_the_audit(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    session = await verified(kit, client, "root@example.com")
    user = await kit.users.get_by_email("root@example.com")
    assert user is not None
    await kit.users.update(user.id, {"is_superuser": True})
    key = key_header((await new_key(client, session, ["reports:read"]))["key"])
    for path in ("/api/v1/users", f"/api/v1/users/{user.id}", "/api/v1/audit"):
        assert (await client.get(path, headers=session)).status_code == 200, path
        assert (await client.get(path, headers=key)).status_code == 401, path


async def test_a_forged_key_cannot_poison_the_cache(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    """Another user's public id under my owner part: refused, and nothing is cached for it."""
    from saaskit.apikeys.service import record_key

    alice = await verified(kit, client, "alice@example.com")
    bob = await verified(kit, client, "bob@example.com")
    alice_key: str = (await new_key(client, alice))["key"]
    bob_created = await new_key(client, bob)
    alice_owner = alice_key[len("sk_test_") :].partition("_")[0]
    forged = f"sk_test_{alice_owner}_{bob_created['id']}{'k' * 32}"
    forged += key_format.checksum(forged)
    assert (await client.get("/whoami", headers=key_header(forged))).status_code == 401
    alice_user = await kit.users.get_by_email("alice@example.com")
    assert alice_user is not None
    assert await kit.store.get(record_key(alice_user.id, bob_created["id"])) is None
    # Bob's key is untouched.
    bob_me = await client.get("/whoami", headers=key_header(bob_created["key"]))
    assert bob_me.status_code == 200

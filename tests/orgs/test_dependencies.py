"""Host routes scoped to an organization (docs/snippets/orgs_app.py): path or header,
404 for a non-member, 403 without the permission, and no SQL once the membership is
cached."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from saaskit import SaaSKit
from saaskit.orgs.service import membership_key
from tests.docs.helpers import SNIPPETS, load_path
from tests.helpers import client_for
from tests.orgs.helpers import ORGS, join, new_org, user_id, verified


@pytest.fixture
async def documented(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    monkeypatch.setenv("SAASKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("SAASKIT_SECRET_KEY", "docs-test-secret-key-0123456789abcdefghij")
    monkeypatch.setenv("SAASKIT_AUTH__BCRYPT_ROUNDS", "4")
    monkeypatch.delenv("SAASKIT_REDIS_URL", raising=False)
    module = load_path(SNIPPETS / "orgs_app.py", monkeypatch)
    from saaskit.email.memory import MemorySender

    module.kit.email_sender = module.kit.mailer.sender = MemorySender()
    try:
        async with client_for(module.kit, module.app) as client:
            yield module, client
    finally:
        await module.kit.aclose()


async def test_the_documented_org_routes(documented: tuple[Any, httpx.AsyncClient]) -> None:
    module, client = documented
    kit: SaaSKit[Any] = module.kit
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    bob = await join(kit, client, org, alice, "bob@example.com")
    mallory = await verified(kit, client, "mallory@example.com")

    assert (await client.get(f"{ORGS}/{org}/projects", headers=bob)).status_code == 200
    assert (await client.get(f"{ORGS}/{org}/projects", headers=mallory)).status_code == 404
    assert (await client.get(f"{ORGS}/abc/projects", headers=alice)).status_code in (404, 422)

    as_org = {"X-Organization": str(org)}
    added = await client.post("/api/v1/projects?name=x", headers={**alice, **as_org})
    assert added.status_code == 201
    assert added.json()["project"] == "x"
    assert (
        await client.post("/api/v1/projects?name=y", headers={**bob, **as_org})
    ).status_code == 403
    assert (
        await client.post("/api/v1/projects?name=y", headers={**mallory, **as_org})
    ).status_code == 404
    no_header = await client.post("/api/v1/projects?name=y", headers=alice)
    assert no_header.status_code == 404
    assert (await client.delete(f"{ORGS}/{org}/projects", headers=bob)).status_code == 403
    assert (await client.delete(f"{ORGS}/{org}/projects", headers=alice)).status_code == 200


async def test_an_org_scoped_request_runs_no_sql_once_the_membership_is_cached(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    assert (await client.get(f"{ORGS}/{org}/invitations", headers=alice)).status_code == 200
    alice_id = await user_id(kit, "alice@example.com")
    assert await kit.store.get(membership_key(alice_id, org)) is not None

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(kit.engine.sync_engine, "before_cursor_execute", count)
    try:
        context = await kit.orgs.require(org, alice_id, "members:invite")
    finally:
        event.remove(kit.engine.sync_engine, "before_cursor_execute", count)
    assert context.role == "owner"
    assert statements == []


def test_the_membership_key_shares_the_users_hash_tag() -> None:
    from saaskit.store.keys import hash_tag, user_tag

    assert hash_tag(membership_key(5, 9)) == hash_tag(user_tag(5) + ":user")


async def test_an_org_scoped_request_costs_one_store_round_trip_and_no_sql(
    documented: tuple[Any, httpx.AsyncClient],
) -> None:
    """The membership is read in the session reader's MGET (same hash slot)."""
    module, client = documented
    kit: SaaSKit[Any] = module.kit
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    path = f"{ORGS}/{org}/projects"
    assert (await client.get(path, headers=alice)).status_code == 200  # caches the membership

    # Round trips: the store's own methods, not what one of them calls inside (the
    # memory store's get_many calls its get).
    calls: list[str] = []
    store = kit.store
    depth = [0]
    for name in ("get", "get_many", "put", "replace", "delete", "hit", "incr", "set_members"):
        original = getattr(store, name)

        async def counted(
            *args: Any, _name: str = name, _original: Any = original, **kw: Any
        ) -> Any:
            if not depth[0]:
                calls.append(_name if _name == "get_many" else f"{_name}:{args}")
            depth[0] += 1
            try:
                return await _original(*args, **kw)
            finally:
                depth[0] -= 1

        setattr(store, name, counted)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(kit.engine.sync_engine, "before_cursor_execute", count)
    try:
        assert (await client.get(path, headers=alice)).status_code == 200
        # A removed member is refused on the next request (the cache entry is gone).
        bob = await join(kit, client, org, alice, "bob@example.com")
        assert (await client.get(path, headers=bob)).status_code == 200
        calls.clear()
        statements.clear()
        assert (await client.get(path, headers=bob)).status_code == 200
        assert calls == ["get_many"], calls
        assert statements == []
        bob_id = await user_id(kit, "bob@example.com")
        await kit.orgs.remove(org, await user_id(kit, "alice@example.com"), bob_id)
        assert (await client.get(path, headers=bob)).status_code == 404
    finally:
        event.remove(kit.engine.sync_engine, "before_cursor_execute", count)

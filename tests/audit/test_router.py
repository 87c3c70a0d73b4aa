"""``GET /api/v1/audit``: superusers only, newest first, paginated, filtered."""

from __future__ import annotations

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import PASSWORD, bearer, login, signed_up

AUDIT = "/api/v1/audit"
FIELDS = {"id", "created_at", "action", "outcome", "actor_id", "target_id", "ip", "user_agent"}


@pytest.fixture
async def admin(client: httpx.AsyncClient, kit: SaaSKit[User]) -> dict[str, str]:
    """A superuser's headers; logging in writes the first event."""
    await kit.users.create("root@example.com", PASSWORD, is_superuser=True)
    return bearer((await login(client, "root@example.com"))["access_token"])


async def id_of(kit: SaaSKit[User], email: str) -> int:
    user = await kit.users.get_by_email(email)
    assert user is not None
    return user.id


async def test_audit_is_for_superusers_only(client: httpx.AsyncClient) -> None:
    tokens = await signed_up(client)

    anonymous = await client.get(AUDIT)
    user = await client.get(AUDIT, headers=bearer(tokens["access_token"]))

    assert anonymous.status_code == 401
    assert user.status_code == 403
    assert user.json()["error"]["code"] == "permission_denied"


async def test_audit_lists_events_newest_first(
    client: httpx.AsyncClient, kit: SaaSKit[User], admin: dict[str, str]
) -> None:
    await signed_up(client)

    page = (await client.get(AUDIT, headers=admin)).json()

    assert page["total"] == 3
    assert [e["action"] for e in page["items"]] == ["login", "register", "login"]
    assert FIELDS | {"detail", "impersonator_id"} == set(page["items"][0])
    alice = await id_of(kit, "alice@example.com")
    assert page["items"][0]["actor_id"] == page["items"][0]["target_id"] == alice
    assert page["items"][0]["ip"] == "127.0.0.1"
    ids = [e["id"] for e in page["items"]]
    assert ids == sorted(ids, reverse=True)


async def test_audit_is_paginated(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for i in range(4):
        await signed_up(client, f"user{i}@example.com")  # 2 events each, 9 in all

    first = (await client.get(AUDIT, params={"limit": 4}, headers=admin)).json()
    second = (await client.get(AUDIT, params={"limit": 4, "offset": 4}, headers=admin)).json()
    last = (await client.get(AUDIT, params={"limit": 4, "offset": 8}, headers=admin)).json()

    assert (first["total"], first["limit"], first["offset"]) == (9, 4, 0)
    assert (second["total"], second["offset"]) == (9, 4)
    assert [len(p["items"]) for p in (first, second, last)] == [4, 4, 1]
    ids = [e["id"] for p in (first, second, last) for e in p["items"]]
    assert len(set(ids)) == 9
    assert ids == sorted(ids, reverse=True)


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"offset": -1}])
async def test_audit_refuses_out_of_range_paging(
    client: httpx.AsyncClient, admin: dict[str, str], params: dict[str, int]
) -> None:
    response = await client.get(AUDIT, params=params, headers=admin)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_audit_filters_by_user_as_actor_or_target(
    client: httpx.AsyncClient, kit: SaaSKit[User], admin: dict[str, str]
) -> None:
    await signed_up(client, "alice@example.com")
    await signed_up(client, "bob@example.com")
    bob = await id_of(kit, "bob@example.com")
    response = await client.patch(f"/api/v1/users/{bob}", json={"full_name": "B"}, headers=admin)
    assert response.is_success

    page = (await client.get(AUDIT, params={"user_id": bob}, headers=admin)).json()

    assert page["total"] == 3
    assert [e["action"] for e in page["items"]] == ["user_updated", "login", "register"]
    assert all(bob in (e["actor_id"], e["target_id"]) for e in page["items"])
    root = await id_of(kit, "root@example.com")
    assert page["items"][0]["actor_id"] == root


async def test_audit_filters_by_action_and_combines_filters(
    client: httpx.AsyncClient, kit: SaaSKit[User], admin: dict[str, str]
) -> None:
    await signed_up(client, "alice@example.com")
    await signed_up(client, "bob@example.com")
    alice = await id_of(kit, "alice@example.com")

    logins = (await client.get(AUDIT, params={"action": "login"}, headers=admin)).json()
    alice_logins = (
        await client.get(AUDIT, params={"action": "login", "user_id": alice}, headers=admin)
    ).json()
    nothing = (await client.get(AUDIT, params={"action": "no_such"}, headers=admin)).json()

    assert logins["total"] == 3
    assert {e["action"] for e in logins["items"]} == {"login"}
    assert alice_logins["total"] == 1
    assert alice_logins["items"][0]["target_id"] == alice
    assert nothing == {"items": [], "total": 0, "limit": 50, "offset": 0}

"""Superuser administration: /users and /users/{id}."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import PASSWORD, bearer, login, signed_up

USERS = "/api/v1/users"


@pytest.fixture
async def admin(client: httpx.AsyncClient, kit: SaaSKit[User]) -> dict[str, str]:
    """Headers of a logged-in superuser."""
    await kit.users.create("root@example.com", PASSWORD, is_superuser=True)
    return bearer((await login(client, "root@example.com"))["access_token"])


async def make_users(kit: SaaSKit[User], *emails: str) -> list[int]:
    return [(await kit.users.create(email, PASSWORD)).id for email in emails]


async def test_non_superusers_get_403_everywhere(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    headers = bearer((await signed_up(client))["access_token"])
    [target] = await make_users(kit, "bob@example.com")

    responses = [
        await client.get(USERS, headers=headers),
        await client.get(f"{USERS}/{target}", headers=headers),
        await client.patch(f"{USERS}/{target}", json={"is_active": False}, headers=headers),
        await client.delete(f"{USERS}/{target}", headers=headers),
    ]

    assert [r.status_code for r in responses] == [403] * 4
    assert {r.json()["error"]["code"] for r in responses} == {"permission_denied"}
    bob = await kit.users.get(target)
    assert bob is not None
    assert bob.is_active


async def test_admin_endpoints_need_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get(USERS)).status_code == 401
    assert (await client.get(f"{USERS}/1")).status_code == 401


async def test_list_is_paginated_by_id_with_a_total(
    client: httpx.AsyncClient, kit: SaaSKit[User], admin: dict[str, str]
) -> None:
    ids = await make_users(kit, *(f"user{i}@example.com" for i in range(5)))

    first = (await client.get(USERS, params={"limit": 2}, headers=admin)).json()
    middle = (await client.get(USERS, params={"limit": 2, "offset": 3}, headers=admin)).json()
    past_end = (await client.get(USERS, params={"offset": 6}, headers=admin)).json()

    assert (first["total"], first["limit"], first["offset"]) == (6, 2, 0)
    assert [u["email"] for u in first["items"]] == ["root@example.com", "user0@example.com"]
    assert [u["id"] for u in middle["items"]] == ids[2:4]
    assert (past_end["items"], past_end["total"]) == ([], 6)
    assert all("hashed_password" not in u for u in first["items"])


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"offset": -1}])
async def test_list_refuses_out_of_range_paging(
    client: httpx.AsyncClient, admin: dict[str, str], params: dict[str, int]
) -> None:
    response = await client.get(USERS, params=params, headers=admin)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a_b", ["a_b@example.com"]),
        ("100%", ["100%off@example.com"]),
        ("%", ["100%off@example.com"]),
        ("_", ["a_b@example.com"]),
        ("AXB", ["axb@example.com"]),
        ("\\", []),
        (
            "example.com",
            ["a_b@example.com", "axb@example.com", "100%off@example.com", "root@example.com"],
        ),
    ],
)
async def test_email_filter_matches_wildcards_literally(
    client: httpx.AsyncClient,
    kit: SaaSKit[User],
    admin: dict[str, str],
    query: str,
    expected: list[str],
) -> None:
    await make_users(kit, "a_b@example.com", "axb@example.com", "100%off@example.com")

    page = (await client.get(USERS, params={"email": query}, headers=admin)).json()

    assert sorted(u["email"] for u in page["items"]) == sorted(expected)
    assert page["total"] == len(expected)


async def test_get_patch_and_delete_a_user_by_id(
    client: httpx.AsyncClient, kit: SaaSKit[User], admin: dict[str, str]
) -> None:
    [bob] = await make_users(kit, "bob@example.com")

    got = await client.get(f"{USERS}/{bob}", headers=admin)
    patched = await client.patch(
        f"{USERS}/{bob}",
        json={"full_name": "Bob", "is_verified": True, "is_superuser": True},
        headers=admin,
    )
    deleted = await client.delete(f"{USERS}/{bob}", headers=admin)

    assert (got.status_code, got.json()["email"]) == (200, "bob@example.com")
    assert patched.status_code == 200
    body = patched.json()
    assert (body["full_name"], body["is_verified"], body["is_superuser"]) == ("Bob", True, True)
    assert deleted.status_code == 204
    assert (await client.get(f"{USERS}/{bob}", headers=admin)).status_code == 404
    assert await kit.users.get(bob) is None


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [("GET", {}), ("PATCH", {"json": {"full_name": "x"}}), ("DELETE", {})],
)
async def test_unknown_user_id_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], method: str, kwargs: dict[str, Any]
) -> None:
    response = await client.request(method, f"{USERS}/999999", headers=admin, **kwargs)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "user_not_found"


async def test_deactivating_a_user_ends_their_sessions_and_logins_at_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    bob = await signed_up(client, "bob@example.com")
    bob_id = (await client.get(f"{USERS}/me", headers=bearer(bob["access_token"]))).json()["id"]

    response = await client.patch(f"{USERS}/{bob_id}", json={"is_active": False}, headers=admin)

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    me = await client.get(f"{USERS}/me", headers=bearer(bob["access_token"]))
    assert me.status_code == 401
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": bob["refresh_token"]}
    )
    assert refreshed.status_code == 401
    relogin = await client.post(
        "/api/v1/auth/login", json={"email": "bob@example.com", "password": PASSWORD}
    )
    assert relogin.status_code == 401
    assert relogin.json()["error"]["code"] == "invalid_credentials"


async def test_admin_can_set_a_password_which_ends_the_users_sessions(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    bob = await signed_up(client, "bob@example.com")
    bob_id = (await client.get(f"{USERS}/me", headers=bearer(bob["access_token"]))).json()["id"]

    response = await client.patch(
        f"{USERS}/{bob_id}", json={"password": "admin chosen passphrase"}, headers=admin
    )

    assert response.status_code == 200
    assert "password" not in response.text
    assert (await client.get(f"{USERS}/me", headers=bearer(bob["access_token"]))).status_code == 401
    await login(client, "bob@example.com", "admin chosen passphrase")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"password": "short"}, "invalid_password"),
        ({"password": ""}, "invalid_password"),
        ({"is_active": None}, "validation_error"),
        ({"is_superuser": None}, "validation_error"),
        ({"password": None}, "validation_error"),
        ({"email": None}, "validation_error"),
        ({"stripe_customer_id": "cus_1"}, "validation_error"),
        ({"hashed_password": "x"}, "validation_error"),
    ],
)
async def test_admin_patch_refuses_invalid_values(
    client: httpx.AsyncClient,
    kit: SaaSKit[User],
    admin: dict[str, str],
    payload: dict[str, Any],
    code: str,
) -> None:
    [bob] = await make_users(kit, "bob@example.com")

    response = await client.patch(f"{USERS}/{bob}", json=payload, headers=admin)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    await login(client, "bob@example.com")


async def test_admin_patch_to_a_taken_email_is_a_conflict(
    client: httpx.AsyncClient, kit: SaaSKit[User], admin: dict[str, str]
) -> None:
    [bob, _] = await make_users(kit, "bob@example.com", "carol@example.com")

    response = await client.patch(
        f"{USERS}/{bob}", json={"email": "carol@example.com"}, headers=admin
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_already_registered"

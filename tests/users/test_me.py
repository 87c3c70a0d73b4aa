"""/users/me: read, update, delete, change password."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.exceptions import EmailAlreadyRegistered
from saaskit.models import User
from tests.helpers import PASSWORD, bearer, login, signed_up

ME = "/api/v1/users/me"
NEW_PASSWORD = "a brand new passphrase"


async def try_login(client: httpx.AsyncClient, email: str, password: str) -> int:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return response.status_code


async def test_me_returns_the_current_user(client: httpx.AsyncClient) -> None:
    tokens = await signed_up(client)

    response = await client.get(ME, headers=bearer(tokens["access_token"]))

    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "alice@example.com"
    assert body["full_name"] == "Alice"
    assert "hashed_password" not in body


async def test_me_reflects_changes_made_through_the_service(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    tokens = await signed_up(client)
    await client.get(ME, headers=bearer(tokens["access_token"]))  # now cached
    user = await kit.users.get_by_email("alice@example.com")
    assert user is not None

    await kit.users.update(user.id, {"full_name": "Alice Liddell"})

    me = await client.get(ME, headers=bearer(tokens["access_token"]))
    assert me.json()["full_name"] == "Alice Liddell"


async def test_patch_me_changes_the_name(client: httpx.AsyncClient) -> None:
    tokens = await signed_up(client)

    response = await client.patch(
        ME, json={"full_name": "Alice L."}, headers=bearer(tokens["access_token"])
    )

    assert response.status_code == 200
    assert response.json()["full_name"] == "Alice L."
    me = (await client.get(ME, headers=bearer(tokens["access_token"]))).json()
    assert me == response.json()


# The email changes through POST /users/me/email (tests/users/test_email_change.py); a
# direct change, as a superuser makes it, resets the verification.


async def test_a_direct_email_change_resets_verification_and_moves_the_login(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    await signed_up(client)
    user = await kit.users.get_by_email("alice@example.com")
    assert user is not None
    await kit.users.update(user.id, {"is_verified": True})

    updated = await kit.users.update(user.id, {"email": "Alice.New@example.com"})

    assert (updated.email, updated.is_verified) == ("alice.new@example.com", False)
    assert await try_login(client, "alice.new@example.com", PASSWORD) == 200
    assert await try_login(client, "alice@example.com", PASSWORD) == 401


async def test_a_direct_change_to_the_same_email_in_other_case_keeps_verification(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    await signed_up(client)
    user = await kit.users.get_by_email("alice@example.com")
    assert user is not None
    await kit.users.update(user.id, {"is_verified": True})

    updated = await kit.users.update(user.id, {"email": "ALICE@example.com"})

    assert updated.is_verified is True


async def test_a_direct_change_to_a_taken_email_is_a_conflict(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    await signed_up(client)
    await signed_up(client, "bob@example.com")
    user = await kit.users.get_by_email("alice@example.com")
    assert user is not None

    with pytest.raises(EmailAlreadyRegistered):
        await kit.users.update(user.id, {"email": "BOB@example.com"})

    assert (await kit.users.get_by_email("alice@example.com")) is not None


@pytest.mark.parametrize(
    "payload",
    [
        {"is_superuser": True},
        {"is_active": False},
        {"is_verified": True},
        {"stripe_customer_id": "cus_evil"},
        {"hashed_password": "$2b$04$" + "a" * 53},
        {"password": "sneaky new password"},
        {"id": 42},
        {"full_name": "Ok", "is_superuser": True},
        {"email": "not-an-email"},
        {"email": None},
        {"full_name": "x" * 256},
    ],
)
async def test_patch_me_refuses_privileged_or_invalid_fields_and_changes_nothing(
    client: httpx.AsyncClient, kit: SaaSKit[User], payload: dict[str, Any]
) -> None:
    tokens = await signed_up(client)
    before = await kit.users.get_by_email("alice@example.com")
    assert before is not None

    response = await client.patch(ME, json=payload, headers=bearer(tokens["access_token"]))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    after = await kit.users.get(before.id)
    assert after is not None
    for column in (
        "email",
        "full_name",
        "is_superuser",
        "is_active",
        "is_verified",
        "stripe_customer_id",
        "hashed_password",
    ):
        assert getattr(after, column) == getattr(before, column), column


async def test_delete_me_removes_the_user_and_ends_the_token(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    tokens = await signed_up(client)
    other_session = await login(client)

    response = await client.delete(ME, headers=bearer(tokens["access_token"]))

    assert response.status_code == 204
    assert (await client.get(ME, headers=bearer(tokens["access_token"]))).status_code == 401
    assert (await client.get(ME, headers=bearer(other_session["access_token"]))).status_code == 401
    assert await try_login(client, "alice@example.com", PASSWORD) == 401
    assert await kit.users.get_by_email("alice@example.com") is None


async def test_change_password_needs_the_current_password(client: httpx.AsyncClient) -> None:
    tokens = await signed_up(client)

    response = await client.post(
        f"{ME}/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=bearer(tokens["access_token"]),
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert await try_login(client, "alice@example.com", PASSWORD) == 200
    assert await try_login(client, "alice@example.com", NEW_PASSWORD) == 401


async def test_change_password_swaps_passwords_and_ends_only_other_sessions(
    client: httpx.AsyncClient,
) -> None:
    current = await signed_up(client)
    other = await login(client)

    response = await client.post(
        f"{ME}/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(current["access_token"]),
    )

    assert response.status_code == 204
    assert await try_login(client, "alice@example.com", NEW_PASSWORD) == 200
    assert await try_login(client, "alice@example.com", PASSWORD) == 401
    assert (await client.get(ME, headers=bearer(current["access_token"]))).status_code == 200
    assert (await client.get(ME, headers=bearer(other["access_token"]))).status_code == 401
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}
    )
    assert refreshed.status_code == 401


@pytest.mark.parametrize("new_password", ["", "short", "password123", "é" * 40])
async def test_change_password_applies_the_password_policy(
    client: httpx.AsyncClient, new_password: str
) -> None:
    tokens = await signed_up(client)

    response = await client.post(
        f"{ME}/password",
        json={"current_password": PASSWORD, "new_password": new_password},
        headers=bearer(tokens["access_token"]),
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_password"
    assert await try_login(client, "alice@example.com", PASSWORD) == 200


async def test_me_endpoints_need_a_token(client: httpx.AsyncClient) -> None:
    responses = [
        await client.get(ME),
        await client.patch(ME, json={"full_name": "x"}),
        await client.delete(ME),
        await client.post(f"{ME}/password", json={"current_password": "a", "new_password": "b"}),
    ]

    assert [r.status_code for r in responses] == [401] * 4

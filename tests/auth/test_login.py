"""POST /auth/login: JSON and OAuth2 form, the token pair, and uniform failures."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import PASSWORD, KitFactory, bearer, client_for, register

LOGIN = "/api/v1/auth/login"


def assert_token_pair(response: httpx.Response, access_seconds: int = 1800) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"]
    assert body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    assert access_seconds - 5 <= body["expires_in"] <= access_seconds
    assert 7 * 86400 - 5 <= body["refresh_expires_in"] <= 7 * 86400
    return body


async def test_json_login_returns_a_token_pair_that_authenticates(
    client: httpx.AsyncClient,
) -> None:
    await register(client)

    response = await client.post(LOGIN, json={"email": "alice@example.com", "password": PASSWORD})

    tokens = assert_token_pair(response)
    me = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "alice@example.com"


async def test_oauth2_password_form_login_works(client: httpx.AsyncClient) -> None:
    await register(client)

    response = await client.post(
        LOGIN,
        data={"username": "alice@example.com", "password": PASSWORD, "grant_type": "password"},
    )

    tokens = assert_token_pair(response)
    me = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200


async def test_login_with_mixed_case_email_works(client: httpx.AsyncClient) -> None:
    await register(client, "alice@example.com")

    response = await client.post(LOGIN, json={"email": "ALICE@Example.COM", "password": PASSWORD})
    form = await client.post(LOGIN, data={"username": " Alice@example.com", "password": PASSWORD})

    assert_token_pair(response)
    assert_token_pair(form)


async def test_access_token_lifetime_follows_the_settings(make_kit: KitFactory) -> None:
    kit = await make_kit(auth={"access_token_minutes": 5})
    async with client_for(kit) as client:
        await register(client)
        response = await client.post(
            LOGIN, json={"email": "alice@example.com", "password": PASSWORD}
        )

    tokens = assert_token_pair(response, access_seconds=300)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300
    assert claims["type"] == "access"
    assert claims["iss"] == claims["aud"] == "saaskit"


async def test_wrong_password_unknown_email_and_inactive_user_fail_alike(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    await register(client, "alice@example.com")
    inactive = await kit.users.create("ivan@example.com", PASSWORD)
    await kit.users.update(inactive.id, {"is_active": False})

    failures = [
        await client.post(
            LOGIN, json={"email": "alice@example.com", "password": "wrong-" + PASSWORD}
        ),
        await client.post(LOGIN, json={"email": "nobody@example.com", "password": PASSWORD}),
        await client.post(LOGIN, json={"email": "ivan@example.com", "password": PASSWORD}),
        await client.post(LOGIN, data={"username": "ivan@example.com", "password": PASSWORD}),
    ]

    assert {r.status_code for r in failures} == {401}
    # Alike but for the request id each response has.
    bodies = [{**r.json()["error"], "request_id": None} for r in failures]
    assert bodies[0]["code"] == "invalid_credentials"
    assert all(body == bodies[0] for body in bodies)
    assert {r.headers.get("www-authenticate") for r in failures} == {"Bearer"}


@pytest.mark.parametrize("password", ["a" * 73, "é" * 40, "x" * 4000])
async def test_overlong_password_at_login_is_401_not_500(
    client: httpx.AsyncClient, password: str
) -> None:
    await register(client)

    json_login = await client.post(LOGIN, json={"email": "alice@example.com", "password": password})
    form_login = await client.post(
        LOGIN, data={"username": "alice@example.com", "password": password}
    )

    for response in (json_login, form_login):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_credentials"


async def test_overlong_password_that_starts_with_the_real_one_is_refused(
    client: httpx.AsyncClient,
) -> None:
    # bcrypt only reads 72 bytes: without the length check this would log in.
    password = "p" * 72
    assert (await register(client, password=password)).status_code == 201

    response = await client.post(
        LOGIN, json={"email": "alice@example.com", "password": password + "suffix"}
    )

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"json": {"email": "alice@example.com"}}, "password"),
        ({"json": {"password": PASSWORD}}, "email"),
        ({"json": {"email": "not-an-email", "password": PASSWORD}}, "email"),
        ({"data": {"username": "alice@example.com"}}, "password"),
        ({"data": {"password": PASSWORD}}, "email"),
    ],
)
async def test_incomplete_credentials_are_a_validation_error_without_the_password(
    client: httpx.AsyncClient, kwargs: dict[str, Any], field: str
) -> None:
    response = await client.post(LOGIN, **kwargs)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert ["body", field] in [f["loc"] for f in error["fields"]]
    assert PASSWORD not in response.text


async def test_unknown_json_fields_at_login_are_refused(client: httpx.AsyncClient) -> None:
    await register(client)

    response = await client.post(
        LOGIN, json={"email": "alice@example.com", "password": PASSWORD, "scope": "admin"}
    )

    assert response.status_code == 422
    assert PASSWORD not in response.text


@pytest.mark.parametrize("stored", ["", "!disabled", "md5$legacy$0123456789abcdef", "$2b$12$short"])
async def test_user_with_an_unusable_stored_hash_gets_401_not_500(
    client: httpx.AsyncClient, kit: SaaSKit[User], stored: str
) -> None:
    user = await kit.users.create("legacy@example.com", PASSWORD)
    async with kit.session_factory() as db:
        row = await db.get(User, user.id)
        assert row is not None
        row.hashed_password = stored
        await db.commit()

    response = await client.post(LOGIN, json={"email": "legacy@example.com", "password": PASSWORD})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"

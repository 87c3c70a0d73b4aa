"""POST /auth/register: the body, validation, the password policy and duplicates."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import PASSWORD, login, register

REGISTER = "/api/v1/auth/register"
SECRET = "never-echo-this-S3cret!"


async def test_register_returns_the_user_without_any_password(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    response = await register(client, "Bob@Example.com")

    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "bob@example.com"
    assert body["full_name"] == "Alice"
    assert body["is_active"] is True
    assert body["is_superuser"] is False
    assert body["is_verified"] is False
    assert isinstance(body["id"], int)
    assert not {"hashed_password", "password"} & body.keys()
    stored = await kit.users.get(body["id"])
    assert stored is not None
    assert stored.hashed_password not in response.text
    assert PASSWORD not in response.text


@pytest.mark.parametrize(
    ("payload", "missing"),
    [
        ({"password": SECRET}, "email"),
        ({"email": "carol@example.com"}, "password"),
        ({}, "email"),
    ],
)
async def test_missing_fields_are_a_validation_error_in_the_error_shape(
    client: httpx.AsyncClient, payload: dict[str, Any], missing: str
) -> None:
    response = await client.post(REGISTER, json=payload)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"]
    assert ["body", missing] in [field["loc"] for field in error["fields"]]
    assert all({"loc", "message", "type"} <= field.keys() for field in error["fields"])


@pytest.mark.parametrize(
    "payload",
    [
        {"password": SECRET},
        {"email": "not an email", "password": SECRET},
        {"email": "dave@example.com", "password": SECRET, "is_superuser": True},
        {"email": "dave@example.com", "password": [SECRET]},
        {"email": "dave@example.com", "password": SECRET * 200},
        {"email": SECRET, "password": SECRET},
    ],
)
async def test_a_422_never_contains_the_submitted_password(
    client: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    response = await client.post(REGISTER, json=payload)

    assert response.status_code == 422
    assert SECRET not in response.text
    assert "S3cret" not in response.text


async def test_invalid_json_is_a_validation_error_without_the_body(
    client: httpx.AsyncClient,
) -> None:
    raw = '{"email": "eve@example.com", "password": "' + SECRET + '"'

    response = await client.post(
        REGISTER, content=raw, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert SECRET not in response.text


@pytest.mark.parametrize(
    "email",
    ["plainaddress", "@example.com", "alice@", "alice@@example.com", "a b@example.com", ""],
)
async def test_malformed_email_is_refused(
    client: httpx.AsyncClient, kit: SaaSKit[User], email: str
) -> None:
    response = await register(client, email)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert ["body", "email"] in [f["loc"] for f in response.json()["error"]["fields"]]
    assert (await kit.users.page())[1] == 0


async def test_duplicate_email_in_other_case_is_a_conflict(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    assert (await register(client, "alice@example.com")).status_code == 201

    response = await register(client, "Alice@Example.com")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_already_registered"
    assert (await kit.users.page())[1] == 1


@pytest.mark.parametrize(
    "password",
    [
        "",
        "7-chars",
        "a" * 73,
        "é" * 37,  # 37 characters, 74 bytes in UTF-8
        "€" * 25,  # 25 characters, 75 bytes in UTF-8
        "password123",
        "QWERTYUIOP",
    ],
)
async def test_password_policy_failures_are_422_invalid_password(
    client: httpx.AsyncClient, kit: SaaSKit[User], password: str
) -> None:
    response = await register(client, password=password)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_password"
    assert not password or password not in response.text
    assert (await kit.users.page())[1] == 0


async def test_password_of_exactly_72_bytes_is_accepted(client: httpx.AsyncClient) -> None:
    password = "é" * 36  # 72 bytes

    assert (await register(client, password=password)).status_code == 201
    await login(client, password=password)


@pytest.mark.parametrize(
    "password", ["pässwörd-ünïcødé", "🔐🦄🌈🚀 emoji passphrase", "日本語のパスワードです"]
)
async def test_unicode_passwords_register_and_log_in(
    client: httpx.AsyncClient, password: str
) -> None:
    assert (await register(client, password=password)).status_code == 201

    tokens = await login(client, password=password)

    assert tokens["access_token"]
    wrong = password[:-1] + ("x" if password[-1] != "x" else "y")
    response = await client.post(
        "/api/v1/auth/login", json={"email": "alice@example.com", "password": wrong}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "extra",
    [
        {"is_superuser": True},
        {"is_active": False},
        {"is_verified": True},
        {"stripe_customer_id": "cus_123"},
        {"hashed_password": "$2b$04$abc"},
        {"id": 99},
    ],
)
async def test_unknown_or_privileged_fields_are_refused(
    client: httpx.AsyncClient, kit: SaaSKit[User], extra: dict[str, Any]
) -> None:
    payload = {"email": "mallory@example.com", "password": PASSWORD, **extra}

    response = await client.post(REGISTER, json=payload)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert (await kit.users.page())[1] == 0


async def test_concurrent_duplicate_registrations_create_exactly_one_user(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    emails = ["race@example.com"] * 5 + ["Race@Example.com"] * 5

    responses = await asyncio.gather(*(register(client, email) for email in emails))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 9, [r.text for r in responses]
    conflicts = [r.json()["error"]["code"] for r in responses if r.status_code == 409]
    assert set(conflicts) == {"email_already_registered"}
    users, total = await kit.users.page(email="race@example.com")
    assert total == 1
    assert [u.email for u in users] == ["race@example.com"]

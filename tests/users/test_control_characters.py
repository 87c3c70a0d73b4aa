"""Control characters in text fields are a 422, never a 500 (PostgreSQL refuses NUL in
text), and no secret (password, hash, token) reaches a log line when a request fails."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import text

from saaskit import SaaSKit
from saaskit.exceptions import InvalidInput
from saaskit.models import User
from tests.databases import TEST_DATABASE_URL
from tests.helpers import PASSWORD, answer, bearer, signed_up

REGISTER = "/api/v1/auth/register"
ME = "/api/v1/users/me"


def assert_422(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"]["code"] in {"validation_error", "invalid_password"}
    assert "\x00" not in response.text


@pytest.mark.parametrize("name", ["Al\x00ice", "Alice\nBcc: x@example.com", "A\x1b[2J", "A\x85"])
async def test_a_name_with_control_characters_is_422_at_register(
    client: httpx.AsyncClient, name: str
) -> None:
    body = {"email": "alice@example.com", "password": PASSWORD, "full_name": name}

    assert_422(await client.post(REGISTER, json=body))


async def test_a_name_with_nul_is_422_at_update(client: httpx.AsyncClient) -> None:
    tokens = await signed_up(client)

    response = await client.patch(
        ME, json={"full_name": "Al\x00ice"}, headers=bearer(tokens["access_token"])
    )

    assert_422(response)
    me = await client.get(ME, headers=bearer(tokens["access_token"]))
    assert me.json()["full_name"] == "Alice"


async def test_a_password_with_nul_is_refused_but_other_odd_characters_are_not(
    client: httpx.AsyncClient,
) -> None:
    nul = {"email": "alice@example.com", "password": "correct\x00horse battery"}
    tab = {"email": "bob@example.com", "password": "correct\thorse battery"}

    assert_422(await client.post(REGISTER, json=nul))
    assert (await client.post(REGISTER, json=tab)).status_code == 201
    login = await client.post("/api/v1/auth/login", json={**nul, "email": "bob@example.com"})
    assert_422(login)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/refresh", {"refresh_token": "abc\x00def"}),
        ("/api/v1/auth/verify-email", {"token": "abc\x00def"}),
        ("/api/v1/auth/reset-password", {"token": "abc\ndef", "password": PASSWORD}),
    ],
)
async def test_tokens_with_control_characters_are_422(
    client: httpx.AsyncClient, path: str, body: dict[str, str]
) -> None:
    assert_422(await client.post(path, json=body))


async def test_the_service_refuses_nul_in_host_columns_too(kit: SaaSKit[User]) -> None:
    with pytest.raises(InvalidInput):
        await kit.users.create("alice@example.com", PASSWORD, full_name="Al\x00ice")
    user = await kit.users.create("bob@example.com", PASSWORD)
    with pytest.raises(InvalidInput):
        await kit.users.update(user.id, {"full_name": "B\x00b"})


async def _refuse_user_inserts(kit: SaaSKit[User]) -> None:
    async with kit.engine.begin() as connection:
        if TEST_DATABASE_URL:
            await connection.execute(
                text(
                    "CREATE FUNCTION refuse_insert() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'inserts refused by the test'; END $$ LANGUAGE plpgsql"
                )
            )
            await connection.execute(
                text(
                    "CREATE TRIGGER refuse_insert BEFORE INSERT ON users "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_insert()"
                )
            )
        else:
            await connection.execute(
                text(
                    "CREATE TRIGGER refuse_insert BEFORE INSERT ON users "
                    "BEGIN SELECT RAISE(ABORT, 'inserts refused by the test'); END"
                )
            )


async def _allow_user_inserts(kit: SaaSKit[User]) -> None:
    async with kit.engine.begin() as connection:
        await connection.execute(text("DROP TRIGGER IF EXISTS refuse_insert ON users"))
        await connection.execute(text("DROP FUNCTION IF EXISTS refuse_insert()"))


async def test_a_failing_insert_logs_no_password_nor_hash(
    client: httpx.AsyncClient, kit: SaaSKit[User], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "unique-Secret-Passw0rd"
    await _refuse_user_inserts(kit)
    try:
        response = await client.post(
            REGISTER, json={"email": "alice@example.com", "password": password}
        )
    finally:
        if TEST_DATABASE_URL:  # the trigger would outlive this test (tables are truncated)
            await _allow_user_inserts(kit)

    assert response.status_code == 500
    assert answer(response) == {
        "error": {"code": "internal_error", "message": "Internal server error."}
    }
    assert "unhandled error" in caplog.text  # the failure itself is logged...
    assert "inserts refused by the test" in caplog.text
    assert password not in caplog.text  # ...without the password or its hash
    assert "$2b$" not in caplog.text
    assert "hidden" in caplog.text  # SQLAlchemy says the parameters were left out

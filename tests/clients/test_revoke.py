"""``POST /auth/revoke`` (RFC 7009): revoking a refresh or an access token ends its session,
and the answer is the same ``200`` for every token, so the endpoint cannot be used to test
whether a token is valid, nor to end someone else's session without their token."""

from __future__ import annotations

import time

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.auth.tokens import TokenCodec
from saaskit.models import User
from tests.helpers import bearer, login, register, signed_up

REVOKE = "/api/v1/auth/revoke"
TOKEN = "/api/v1/auth/token"
ME = "/api/v1/users/me"


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": token})


def assert_revoke_answer(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token"])
async def test_revoking_the_refresh_token_ends_the_session(
    client: httpx.AsyncClient, hint: str | None
) -> None:
    """With any hint: a wrong hint only changes which type is tried first (§2.1)."""
    tokens = await signed_up(client)
    other = await login(client)  # another session of the same user

    response = await client.post(
        REVOKE,
        data={"token": tokens["refresh_token"], **({"token_type_hint": hint} if hint else {})},
    )

    assert_revoke_answer(response)
    assert (await client.get(ME, headers=bearer(tokens["access_token"]))).status_code == 401
    assert (await refresh(client, tokens["refresh_token"])).status_code == 400
    assert (await client.get(ME, headers=bearer(other["access_token"]))).status_code == 200


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
async def test_revoking_the_access_token_ends_the_session(
    client: httpx.AsyncClient, hint: str | None
) -> None:
    tokens = await signed_up(client)

    response = await client.post(
        REVOKE,
        data={"token": tokens["access_token"], **({"token_type_hint": hint} if hint else {})},
    )

    assert_revoke_answer(response)
    assert (await client.get(ME, headers=bearer(tokens["access_token"]))).status_code == 401
    assert (await refresh(client, tokens["refresh_token"])).status_code == 400


async def test_every_token_gets_the_same_answer(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    tokens = await signed_up(client)
    foreign = TokenCodec(
        "another-key-that-is-long-enough-0123456789",
        issuer="saaskit",
        audience="saaskit",
        access_ttl=60,
    )
    forged, _ = foreign.issue("refresh", user_id=1, session_id="0" * 32)
    expired, _ = kit.tokens.issue(
        "access", user_id=1, session_id="0" * 32, expires_at=int(time.time()) - 10
    )
    answers = []
    for token in [
        "not-a-token",
        "x" * 4000,
        forged,
        expired,
        tokens["refresh_token"],
        tokens["refresh_token"],
    ]:
        response = await client.post(REVOKE, data={"token": token})
        answers.append(
            (
                response.status_code,
                response.content,
                # (each response has its own request id)
                sorted(
                    (k, v) for k, v in response.headers.items() if k not in ("date", "x-request-id")
                ),
            )
        )

    assert all(answer == answers[0] for answer in answers), answers
    assert_revoke_answer(response)


async def test_a_token_cannot_revoke_another_users_session(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    """A validly signed token pairing Bob's id with Alice's session (a leaked key, a bug)
    ends nothing: the session must name the token's user."""
    alice = await signed_up(client, "alice@example.com")
    await register(client, "bob@example.com")
    bob = await kit.users.get_by_email("bob@example.com")
    assert bob is not None
    alice_session = kit.tokens.decode(alice["access_token"], "access").session_id
    mixed, _ = kit.tokens.issue("refresh", user_id=bob.id, session_id=alice_session)

    response = await client.post(REVOKE, data={"token": mixed})

    assert_revoke_answer(response)
    assert (await client.get(ME, headers=bearer(alice["access_token"]))).status_code == 200


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "invalid_request"),
        ({"token_type_hint": "refresh_token"}, "invalid_request"),
        ({"token": "abc", "token_type_hint": "id_token"}, "unsupported_token_type"),
    ],
    ids=["empty", "no-token", "unknown-hint"],
)
async def test_malformed_revocations_get_rfc_errors(
    client: httpx.AsyncClient, data: dict[str, str], error: str
) -> None:
    response = await client.post(REVOKE, data=data)

    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def test_revocation_is_audited_as_a_logout(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    tokens = await signed_up(client)

    await client.post(REVOKE, data={"token": tokens["refresh_token"]})

    _, total = await kit.audit.page(action="logout")
    assert total == 1

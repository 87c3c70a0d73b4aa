"""Access and refresh tokens: every forged, expired or misused token is refused."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from saaskit import SaaSKit
from saaskit.auth.tokens import TokenCodec
from saaskit.exceptions import InvalidToken
from saaskit.models import User
from tests.helpers import KitFactory, bearer, client_for, signed_up

ME = "/api/v1/users/me"
KEY = "test-secret-key-that-is-long-enough-0123456789"  # the key of tests.conftest's kits


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _claims(kit: SaaSKit[User], access_token: str) -> dict[str, Any]:
    """A valid payload for the same user and session as ``access_token``."""
    claims = kit.tokens.decode(access_token, "access")
    now = int(time.time())
    return {
        "sub": str(claims.user_id),
        "type": "access",
        "sid": claims.session_id,
        "jti": "handmade",
        "iss": "saaskit",
        "aud": "saaskit",
        "iat": now,
        "exp": now + 600,
    }


async def assert_invalid_token(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(ME, headers=bearer(token))
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_token"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_handmade_token_with_the_right_key_and_claims_is_accepted(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    # The control for the forgeries below: only the one thing they change makes them fail.
    tokens = await signed_up(client)
    token = jwt.encode(_claims(kit, tokens["access_token"]), KEY, algorithm="HS256")

    response = await client.get(ME, headers=bearer(token))

    assert response.status_code == 200


async def test_expired_access_token_is_refused(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    tokens = await signed_up(client)
    claims = kit.tokens.decode(tokens["access_token"], "access")
    expired, _ = kit.tokens.issue(
        "access",
        user_id=claims.user_id,
        session_id=claims.session_id,
        expires_at=int(time.time()) - 5,
    )

    await assert_invalid_token(client, expired)


async def test_token_with_a_flipped_signature_character_is_refused(
    client: httpx.AsyncClient,
) -> None:
    token = (await signed_up(client))["access_token"]
    header, payload, signature = token.split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"

    await assert_invalid_token(
        client, f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"
    )


@pytest.mark.parametrize(
    "change", [{"sub": "999"}, {"type": "access", "exp": 9999999999}, {"sid": "other"}]
)
async def test_token_with_a_changed_payload_is_refused(
    client: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    token = (await signed_up(client))["access_token"]
    header, payload, signature = token.split(".")
    claims = {**json.loads(_unb64(payload)), **change}
    forged_payload = _b64(json.dumps(claims).encode())

    await assert_invalid_token(client, f"{header}.{forged_payload}.{signature}")


async def test_alg_none_token_is_refused(client: httpx.AsyncClient, kit: SaaSKit[User]) -> None:
    tokens = await signed_up(client)
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(kit, tokens["access_token"])).encode())

    await assert_invalid_token(client, f"{header}.{payload}.")


@pytest.mark.parametrize(
    ("key", "algorithm"),
    [
        (KEY + KEY, "HS512"),
        ("another-secret-key-that-is-long-enough-9876543210", "HS256"),
    ],
)
async def test_token_signed_with_another_algorithm_or_key_is_refused(
    client: httpx.AsyncClient, kit: SaaSKit[User], key: str, algorithm: str
) -> None:
    tokens = await signed_up(client)
    claims = _claims(kit, tokens["access_token"])

    await assert_invalid_token(client, jwt.encode(claims, key, algorithm=algorithm))


async def test_hs512_token_signed_with_the_kit_own_key_is_refused(make_kit: KitFactory) -> None:
    long_key = "k" * 64  # long enough for HS512, so only the algorithm differs
    kit = await make_kit(secret_key=long_key)
    async with client_for(kit) as client:
        tokens = await signed_up(client)
        claims = _claims(kit, tokens["access_token"])

        assert (await client.get(ME, headers=bearer(tokens["access_token"]))).status_code == 200
        await assert_invalid_token(client, jwt.encode(claims, long_key, algorithm="HS512"))
        await assert_invalid_token(client, jwt.encode(claims, long_key, algorithm="HS384"))


@pytest.mark.parametrize("missing", ["exp", "sub", "sid", "jti", "iat", "type", "aud", "iss"])
async def test_token_missing_a_required_claim_is_refused(
    client: httpx.AsyncClient, kit: SaaSKit[User], missing: str
) -> None:
    tokens = await signed_up(client)
    claims = _claims(kit, tokens["access_token"])
    del claims[missing]

    await assert_invalid_token(client, jwt.encode(claims, KEY, algorithm="HS256"))


@pytest.mark.parametrize(
    "change",
    [
        {"aud": "another-app"},
        {"iss": "someone-else"},
        {"sub": "not-a-number"},
        {"type": "refresh"},
        {"type": "verify"},
    ],
)
async def test_token_with_wrong_audience_issuer_subject_or_type_is_refused(
    client: httpx.AsyncClient, kit: SaaSKit[User], change: dict[str, Any]
) -> None:
    tokens = await signed_up(client)
    claims = {**_claims(kit, tokens["access_token"]), **change}

    await assert_invalid_token(client, jwt.encode(claims, KEY, algorithm="HS256"))


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "", "Bearer"])
async def test_malformed_tokens_are_refused(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"invalid_token", "not_authenticated"}


async def test_refresh_token_is_not_an_access_token(client: httpx.AsyncClient) -> None:
    tokens = await signed_up(client)

    await assert_invalid_token(client, tokens["refresh_token"])


async def test_access_token_is_not_a_refresh_token(client: httpx.AsyncClient) -> None:
    tokens = await signed_up(client)

    response = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]}
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    # The session is untouched: its access token still works.
    assert (await client.get(ME, headers=bearer(tokens["access_token"]))).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic YWxpY2U6c2VjcmV0"}])
async def test_missing_token_is_401_not_authenticated_with_www_authenticate(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(ME, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response.headers["www-authenticate"] == "Bearer"


def test_codec_round_trips_claims_and_checks_the_type() -> None:
    codec = TokenCodec(KEY, issuer="me", audience="you", access_ttl=60)
    token, issued = codec.issue("refresh", user_id=7, session_id="s1", jti="j1")

    decoded = codec.decode(token, "refresh")

    assert decoded == issued
    assert (decoded.user_id, decoded.session_id, decoded.jti) == (7, "s1", "j1")
    assert decoded.expires_at - int(time.time()) in range(55, 61)
    with pytest.raises(InvalidToken):
        codec.decode(token, "access")


def test_codec_refuses_tokens_of_another_issuer_or_audience() -> None:
    mine = TokenCodec(KEY, issuer="me", audience="you", access_ttl=60)
    other_issuer = TokenCodec(KEY, issuer="them", audience="you", access_ttl=60)
    other_audience = TokenCodec(KEY, issuer="me", audience="others", access_ttl=60)
    token, _ = mine.issue("access", user_id=1, session_id="s")

    for codec in (other_issuer, other_audience):
        with pytest.raises(InvalidToken):
            codec.decode(token, "access")
    assert mine.decode(token, "access").user_id == 1

"""Authlib's async OAuth 2.0 client against a real server: the password grant, the
automatic refresh when the access token has expired, revocation (RFC 7009), and the
errors it raises, all configured the way its documentation shows for a public client."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import (  # type: ignore[import-untyped]
    AsyncOAuth2Client,
    OAuthError,
)

from tests.clients.helpers import LiveServer
from tests.helpers import PASSWORD

pytestmark = pytest.mark.slow


# --8<-- [start:client]
def oauth_client(server: LiveServer, **kwargs: Any) -> Any:
    """A public client: no secret, ``client_id`` in the body (``none`` auth method)."""
    return AsyncOAuth2Client(
        client_id="saaskit-tests",
        token_endpoint_auth_method="none",
        revocation_endpoint_auth_method="none",
        token_endpoint=server.token_url,
        **kwargs,
    )


# --8<-- [end:client]


async def test_password_grant_gives_a_token_that_calls_the_api(live_server: LiveServer) -> None:
    email = live_server.register("authlib-login")
    async with oauth_client(live_server) as client:
        token = await client.fetch_token(username=email, password=PASSWORD)
        me = await client.get(f"{live_server.api}/users/me")

    assert token["token_type"].lower() == "bearer"
    assert token["expires_at"] > time.time()
    assert token["refresh_token"]
    assert me.status_code == 200
    assert me.json()["email"] == email


async def test_an_expired_access_token_is_refreshed_before_the_call(
    live_server: LiveServer,
) -> None:
    email = live_server.register("authlib-refresh")
    saved: list[dict[str, Any]] = []

    async def update_token(token: dict[str, Any], refresh_token: str | None = None) -> None:
        saved.append({**token, "replaced": refresh_token})

    # --8<-- [start:refresh]
    async with oauth_client(live_server, update_token=update_token) as client:
        first = await client.fetch_token(username=email, password=PASSWORD)
        # The client believes the access token expired (no minute-long wait).
        client.token["expires_at"] = int(time.time()) - 1
        me = await client.get(f"{live_server.api}/users/me")  # refreshes first
        # --8<-- [end:refresh]
        again = await client.get(f"{live_server.api}/users/me")

    assert me.status_code == 200, me.text
    assert again.status_code == 200
    assert len(saved) == 1  # refreshed once, then the new token was used
    assert saved[0]["replaced"] == first["refresh_token"]
    assert saved[0]["refresh_token"] != first["refresh_token"]  # rotated
    assert saved[0]["access_token"] != first["access_token"]


async def test_a_replayed_refresh_token_is_an_invalid_grant_that_ends_the_session(
    live_server: LiveServer,
) -> None:
    email = live_server.register("authlib-reuse")
    async with oauth_client(live_server) as client:
        first = await client.fetch_token(username=email, password=PASSWORD)
        await client.refresh_token(live_server.token_url)  # rotates
        with pytest.raises(OAuthError) as replay:
            await client.refresh_token(live_server.token_url, refresh_token=first["refresh_token"])
        me = await client.get(f"{live_server.api}/users/me")

    assert replay.value.error == "invalid_grant"
    assert me.status_code == 401  # the newest tokens died with the session


async def test_revoking_the_refresh_token_logs_out(live_server: LiveServer) -> None:
    email = live_server.register("authlib-revoke")
    async with oauth_client(live_server) as client:
        token = await client.fetch_token(username=email, password=PASSWORD)
        before = await client.get(f"{live_server.api}/users/me")
        # --8<-- [start:revoke]
        revoked = await client.revoke_token(
            live_server.revoke_url, token=token["refresh_token"], token_type_hint="refresh_token"
        )
        # --8<-- [end:revoke]
        after = await client.get(f"{live_server.api}/users/me")
        with pytest.raises(OAuthError) as refresh:
            await client.refresh_token(live_server.token_url)
        again = await client.revoke_token(live_server.revoke_url, token=token["refresh_token"])

    assert before.status_code == 200
    assert revoked.status_code == 200
    assert after.status_code == 401
    assert refresh.value.error == "invalid_grant"
    assert again.status_code == 200  # already revoked: still 200 (RFC 7009 §2.2)


async def test_revoking_the_access_token_ends_its_session(live_server: LiveServer) -> None:
    email = live_server.register("authlib-revoke-access")
    async with oauth_client(live_server) as client:
        token = await client.fetch_token(username=email, password=PASSWORD)
        revoked = await client.revoke_token(
            live_server.revoke_url, token=token["access_token"], token_type_hint="access_token"
        )
        with pytest.raises(OAuthError) as refresh:
            await client.refresh_token(live_server.token_url)

    assert revoked.status_code == 200
    assert refresh.value.error == "invalid_grant"


async def test_wrong_password_and_unknown_email_are_the_same_invalid_grant(
    live_server: LiveServer,
) -> None:
    email = live_server.register("authlib-wrong")
    errors = []
    async with oauth_client(live_server) as client:
        for username, password in [(email, "not the password"), ("nobody@example.com", PASSWORD)]:
            with pytest.raises(OAuthError) as raised:
                await client.fetch_token(username=username, password=password)
            errors.append((raised.value.error, raised.value.description))

    assert errors[0] == errors[1]
    assert errors[0][0] == "invalid_grant"


async def test_the_token_response_is_never_cached(live_server: LiveServer) -> None:
    email = live_server.register("authlib-cache")
    async with httpx.AsyncClient() as http:
        response = await http.post(
            live_server.token_url,
            data={"grant_type": "password", "username": email, "password": PASSWORD},
        )

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"

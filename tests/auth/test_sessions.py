"""Refresh rotation, reuse detection, logout, logout-all and the session list."""

from __future__ import annotations

from typing import Any

import httpx

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import bearer, login, register, signed_up

ME = "/api/v1/users/me"
REFRESH = "/api/v1/auth/refresh"
SESSIONS = "/api/v1/auth/sessions"


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token})


async def status_of(client: httpx.AsyncClient, access_token: str) -> int:
    return (await client.get(ME, headers=bearer(access_token))).status_code


def session_id(kit: SaaSKit[User], tokens: dict[str, Any]) -> str:
    return kit.tokens.decode(tokens["access_token"], "access").session_id


async def test_refresh_returns_a_new_working_pair_for_the_same_session(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    tokens = await signed_up(client)

    response = await refresh(client, tokens["refresh_token"])

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    new = response.json()
    assert new["token_type"] == "bearer"
    assert new["expires_in"] > 0
    assert new["refresh_token"] != tokens["refresh_token"]
    assert new["access_token"] != tokens["access_token"]
    assert session_id(kit, new) == session_id(kit, tokens)
    assert await status_of(client, new["access_token"]) == 200
    assert (await refresh(client, new["refresh_token"])).status_code == 200


async def test_refresh_never_extends_the_session(client: httpx.AsyncClient) -> None:
    tokens = await signed_up(client)

    new = (await refresh(client, tokens["refresh_token"])).json()

    assert new["refresh_expires_in"] <= tokens["refresh_expires_in"]


async def test_reusing_a_refresh_token_revokes_the_whole_session(
    client: httpx.AsyncClient,
) -> None:
    first = await signed_up(client)
    second = (await refresh(client, first["refresh_token"])).json()
    third = (await refresh(client, second["refresh_token"])).json()
    assert await status_of(client, third["access_token"]) == 200

    reuse = await refresh(client, first["refresh_token"])

    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "invalid_token"
    assert (await refresh(client, third["refresh_token"])).status_code == 401
    assert await status_of(client, third["access_token"]) == 401
    assert await status_of(client, first["access_token"]) == 401


async def test_reuse_in_one_session_leaves_other_sessions_alone(
    client: httpx.AsyncClient,
) -> None:
    stolen = await signed_up(client)
    other = await login(client)
    await refresh(client, stolen["refresh_token"])

    assert (await refresh(client, stolen["refresh_token"])).status_code == 401

    assert await status_of(client, other["access_token"]) == 200
    assert (await refresh(client, other["refresh_token"])).status_code == 200


async def test_refresh_with_garbage_or_missing_token_fails_cleanly(
    client: httpx.AsyncClient,
) -> None:
    garbage = await refresh(client, "not-a-token")
    missing = await client.post(REFRESH, json={})

    assert garbage.status_code == 401
    assert garbage.json()["error"]["code"] == "invalid_token"
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "validation_error"


async def test_logout_ends_the_session_at_once(client: httpx.AsyncClient) -> None:
    tokens = await signed_up(client)
    other = await login(client)

    response = await client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))

    assert response.status_code == 204
    assert await status_of(client, tokens["access_token"]) == 401
    assert (await refresh(client, tokens["refresh_token"])).status_code == 401
    assert await status_of(client, other["access_token"]) == 200


async def test_logout_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/logout")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


async def test_logout_all_ends_every_session_of_the_user_only(
    client: httpx.AsyncClient,
) -> None:
    sessions = [await signed_up(client), await login(client), await login(client)]
    bob = await signed_up(client, "bob@example.com")

    response = await client.post(
        "/api/v1/auth/logout-all", headers=bearer(sessions[1]["access_token"])
    )

    assert response.status_code == 204
    for tokens in sessions:
        assert await status_of(client, tokens["access_token"]) == 401
        assert (await refresh(client, tokens["refresh_token"])).status_code == 401
    assert await status_of(client, bob["access_token"]) == 200


async def test_sessions_lists_each_login_and_flags_the_current_one(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    await register(client)
    logins = []
    for agent in ("phone", "laptop"):
        response = await client.post(
            "/api/v1/auth/login",
            json={"email": "alice@example.com", "password": "correct horse battery"},
            headers={"User-Agent": agent},
        )
        logins.append(response.json())

    response = await client.get(SESSIONS, headers=bearer(logins[0]["access_token"]))

    assert response.status_code == 200
    listed = response.json()
    assert {s["id"] for s in listed} == {session_id(kit, t) for t in logins}
    current = [s for s in listed if s["current"]]
    assert [s["id"] for s in current] == [session_id(kit, logins[0])]
    assert current[0]["user_agent"] == "phone"
    assert current[0]["ip"] == "127.0.0.1"
    assert all(s["expires_at"] > s["created_at"] for s in listed)


async def test_sessions_of_other_users_are_not_listed(client: httpx.AsyncClient) -> None:
    await signed_up(client)
    bob = await signed_up(client, "bob@example.com")

    listed = (await client.get(SESSIONS, headers=bearer(bob["access_token"]))).json()

    assert len(listed) == 1
    assert listed[0]["current"] is True


async def test_deleting_one_of_my_sessions_ends_only_that_one(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    mine = await signed_up(client)
    other = await login(client)

    response = await client.delete(
        f"{SESSIONS}/{session_id(kit, other)}", headers=bearer(mine["access_token"])
    )

    assert response.status_code == 204
    assert await status_of(client, other["access_token"]) == 401
    assert (await refresh(client, other["refresh_token"])).status_code == 401
    assert await status_of(client, mine["access_token"]) == 200
    listed = (await client.get(SESSIONS, headers=bearer(mine["access_token"]))).json()
    assert [s["id"] for s in listed] == [session_id(kit, mine)]


async def test_deleting_another_users_session_is_404_and_revokes_nothing(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    alice = await signed_up(client)
    bob = await signed_up(client, "bob@example.com")

    response = await client.delete(
        f"{SESSIONS}/{session_id(kit, bob)}", headers=bearer(alice["access_token"])
    )
    unknown = await client.delete(
        f"{SESSIONS}/no-such-session", headers=bearer(alice["access_token"])
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "session_not_found"
    assert unknown.status_code == 404
    assert await status_of(client, bob["access_token"]) == 200
    assert (await refresh(client, bob["refresh_token"])).status_code == 200

"""Session revocation: reuse detection, concurrent refresh, fixed session end, and every
way a session ends (logout, session delete, password change/reset, admin actions)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from saaskit import SaaSKit
from saaskit.auth.sessions import SessionManager
from saaskit.email import MemorySender
from saaskit.exceptions import InvalidToken
from saaskit.models import User
from saaskit.store import Store
from tests.helpers import (
    PASSWORD,
    KitFactory,
    bearer,
    client_for,
    login,
    new_store,
    register,
    signed_up,
)

ME = "/api/v1/users/me"
REFRESH = "/api/v1/auth/refresh"
SESSIONS = "/api/v1/auth/sessions"


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token})


async def me_status(client: httpx.AsyncClient, access_token: str) -> int:
    return (await client.get(ME, headers=bearer(access_token))).status_code


def unverified_claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


@pytest.fixture
async def admin(client: httpx.AsyncClient, kit: SaaSKit[User]) -> dict[str, str]:
    await kit.users.create("root@example.com", PASSWORD, is_superuser=True)
    return bearer((await login(client, "root@example.com"))["access_token"])


async def test_login_opens_a_session_listed_with_ip_and_user_agent(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    await register(client)
    response = await client.post(
        "/api/v1/auth/login",
        json={"email": "alice@example.com", "password": PASSWORD},
        headers={"User-Agent": "pytest-browser/1.0"},
    )
    tokens = response.json()

    listed = (await client.get(SESSIONS, headers=bearer(tokens["access_token"]))).json()

    assert len(listed) == 1
    assert listed[0]["id"] == kit.tokens.decode(tokens["access_token"], "access").session_id
    assert listed[0]["ip"] == "127.0.0.1"
    assert listed[0]["user_agent"] == "pytest-browser/1.0"
    assert listed[0]["current"] is True


async def test_each_refresh_gives_a_new_token_and_the_old_one_works_only_once(
    client: httpx.AsyncClient,
) -> None:
    tokens = await signed_up(client)
    seen = {tokens["refresh_token"]}
    current = tokens["refresh_token"]
    for _ in range(3):
        response = await refresh(client, current)
        assert response.status_code == 200
        current = response.json()["refresh_token"]
        assert current not in seen
        seen.add(current)


async def test_replaying_a_rotated_token_kills_newest_tokens_and_is_audited(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    first = await signed_up(client)
    newest = (await refresh(client, first["refresh_token"])).json()
    assert await me_status(client, newest["access_token"]) == 200

    replay = await refresh(client, first["refresh_token"])

    assert replay.status_code == 401
    assert await me_status(client, newest["access_token"]) == 401
    assert (await refresh(client, newest["refresh_token"])).status_code == 401
    events, total = await kit.audit.page(action="refresh_token_reuse")
    assert total == 1
    user_id = kit.tokens.decode(first["access_token"], "access").user_id
    assert events[0].target_id == user_id
    assert events[0].outcome == "failure"
    assert events[0].ip == "127.0.0.1"


async def test_two_concurrent_refreshes_of_one_token_let_exactly_one_through(
    client: httpx.AsyncClient,
) -> None:
    tokens = await signed_up(client)

    responses = await asyncio.gather(
        refresh(client, tokens["refresh_token"]), refresh(client, tokens["refresh_token"])
    )

    assert sorted(r.status_code for r in responses) == [200, 401]


async def test_rotation_keeps_the_refresh_expiry_at_login_plus_refresh_days(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = int(time.time())
    tokens = await signed_up(client)
    after = int(time.time())
    login_exp = unverified_claims(tokens["refresh_token"])["exp"]
    assert before + 7 * 86400 <= login_exp <= after + 7 * 86400

    # One hour later (for the code that issues tokens and opens sessions).
    later = SimpleNamespace(time=lambda: time.time() + 3600)
    monkeypatch.setattr("saaskit.auth.service.time", later)
    monkeypatch.setattr("saaskit.auth.sessions.time", later)
    response = await refresh(client, tokens["refresh_token"])

    assert response.status_code == 200
    rotated = response.json()
    assert unverified_claims(rotated["refresh_token"])["exp"] == login_exp
    assert rotated["refresh_expires_in"] <= tokens["refresh_expires_in"] - 3500


async def test_logout_all_ends_every_session_including_the_caller(
    client: httpx.AsyncClient,
) -> None:
    one, two = await signed_up(client), await login(client)

    response = await client.post("/api/v1/auth/logout-all", headers=bearer(one["access_token"]))

    assert response.status_code == 204
    assert await me_status(client, one["access_token"]) == 401
    assert await me_status(client, two["access_token"]) == 401


async def test_deleting_another_users_session_is_404_and_it_survives(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    alice = await signed_up(client)
    bob = await signed_up(client, "bob@example.com")
    bob_session = kit.tokens.decode(bob["access_token"], "access").session_id

    response = await client.delete(
        f"{SESSIONS}/{bob_session}", headers=bearer(alice["access_token"])
    )

    assert response.status_code == 404
    assert await me_status(client, bob["access_token"]) == 200
    listed = (await client.get(SESSIONS, headers=bearer(bob["access_token"]))).json()
    assert [s["id"] for s in listed] == [bob_session]


async def test_password_change_ends_other_sessions_but_keeps_the_current_one(
    client: httpx.AsyncClient,
) -> None:
    current, other = await signed_up(client), await login(client)

    response = await client.post(
        f"{ME}/password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        headers=bearer(current["access_token"]),
    )

    assert response.status_code == 204
    assert await me_status(client, current["access_token"]) == 200
    assert (await refresh(client, current["refresh_token"])).status_code == 200
    assert await me_status(client, other["access_token"]) == 401
    assert (await refresh(client, other["refresh_token"])).status_code == 401


async def test_password_reset_ends_every_session(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    sessions = [await signed_up(client), await login(client)]
    outbox = kit.mailer.sender = MemorySender()
    await client.post("/api/v1/auth/forgot-password", json={"email": "alice@example.com"})
    await kit.runner.drain()
    link = outbox.links(outbox.last_to("alice@example.com"))[0]
    token = parse_qs(urlsplit(link).query)["token"][0]

    response = await client.post(
        "/api/v1/auth/reset-password", json={"token": token, "password": "a new long passphrase"}
    )

    assert response.status_code == 204
    for tokens in sessions:
        assert await me_status(client, tokens["access_token"]) == 401
        assert (await refresh(client, tokens["refresh_token"])).status_code == 401


async def test_superuser_deactivating_a_user_kills_their_access_token_at_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    bob = await signed_up(client, "bob@example.com")
    assert await me_status(client, bob["access_token"]) == 200  # now cached in the store
    bob_id = (await client.get(ME, headers=bearer(bob["access_token"]))).json()["id"]

    response = await client.patch(
        f"/api/v1/users/{bob_id}", json={"is_active": False}, headers=admin
    )

    assert response.status_code == 200
    assert await me_status(client, bob["access_token"]) == 401
    assert (await client.get(SESSIONS, headers=bearer(bob["access_token"]))).status_code == 401


async def test_superuser_deleting_a_user_kills_their_access_token(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    bob = await signed_up(client, "bob@example.com")
    bob_id = (await client.get(ME, headers=bearer(bob["access_token"]))).json()["id"]

    response = await client.delete(f"/api/v1/users/{bob_id}", headers=admin)

    assert response.status_code == 204
    assert await me_status(client, bob["access_token"]) == 401
    assert (await refresh(client, bob["refresh_token"])).status_code == 401


async def test_grace_window_refuses_a_just_replaced_token_without_revoking(
    make_kit: KitFactory,
) -> None:
    kit = await make_kit(auth={"refresh_reuse_grace_seconds": 30})
    async with client_for(kit) as client:
        first = await signed_up(client)
        newest = await refresh(client, first["refresh_token"])
        assert newest.status_code == 200
        late = await refresh(client, first["refresh_token"])
        assert late.status_code == 401
        # The session survives: the newest tokens still work.
        assert await me_status(client, newest.json()["access_token"]) == 200
        assert (await refresh(client, newest.json()["refresh_token"])).status_code == 200


class _RevokeMidRotation:
    """The store, but a concurrent request revokes the session right after the rotating
    request has read the session record: the interleaving that left a zombie behind."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.revoke: Callable[[], Awaitable[None]] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def get(self, key: str) -> bytes | None:
        value = await self.inner.get(key)
        if self.revoke is not None and key.split(":")[-2:-1] == ["sess"]:  # {u:..}:sess:<sid>
            revoke, self.revoke = self.revoke, None
            await revoke()
        return value


async def test_a_session_revoked_during_a_refresh_is_never_recreated() -> None:
    store = _RevokeMidRotation(new_store())
    manager = SessionManager(cast(Store, store), 3600)
    try:
        session, jti = await manager.open(7)
        store.revoke = lambda: manager.revoke(session.id, 7)

        with pytest.raises(InvalidToken):
            await manager.rotate(session.id, 7, jti)

        assert store.revoke is None  # the revocation did happen mid-rotation
        assert await manager.get(session.id, 7) is None
        assert await manager.for_user(7) == []
    finally:
        await store.inner.close()


async def test_no_token_of_a_session_works_after_racing_refreshes_and_logout_all(
    client: httpx.AsyncClient,
) -> None:
    # Two refreshes of one token race (the loser's reuse check revokes the session while
    # the winner rotates); then the user logs out everywhere from another session.
    await register(client)
    for _ in range(50):
        tokens = await login(client)
        other = await login(client)
        responses = await asyncio.gather(
            refresh(client, tokens["refresh_token"]), refresh(client, tokens["refresh_token"])
        )
        issued = [r.json() for r in responses if r.status_code == 200]
        logout = await client.post("/api/v1/auth/logout-all", headers=bearer(other["access_token"]))
        assert logout.status_code == 204

        for pair in [tokens, *issued]:
            assert await me_status(client, pair["access_token"]) == 401
            assert (await refresh(client, pair["refresh_token"])).status_code == 401
        fresh = bearer((await login(client))["access_token"])
        assert len((await client.get(SESSIONS, headers=fresh)).json()) == 1  # only this one
        assert (await client.post("/api/v1/auth/logout-all", headers=fresh)).status_code == 204

"""Forgot / reset password: no account oracle, the emailed link, the password policy,
single use, staleness after a password change, expiry, and the notification email."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.email import MemorySender
from saaskit.models import User
from tests.helpers import PASSWORD, KitFactory, bearer, login, signed_up

FORGOT = "/api/v1/auth/forgot-password"
RESET = "/api/v1/auth/reset-password"
NEW_PASSWORD = "a completely new passphrase"


@pytest.fixture
async def kit(make_kit: KitFactory) -> SaaSKit[User]:
    return await make_kit(
        email={"frontend_url": "https://app.example.com", "reset_path": "/account/reset"}
    )


@pytest.fixture
def outbox(kit: SaaSKit[User]) -> MemorySender:
    sender = MemorySender()
    kit.mailer.sender = sender
    return sender


async def reset_token(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender, email: str
) -> str:
    assert (await client.post(FORGOT, json={"email": email})).status_code == 202
    await kit.runner.drain()
    link = outbox.links(outbox.last_to(email))[0]
    return parse_qs(urlsplit(link).query)["token"][0]


async def reset(
    client: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD
) -> httpx.Response:
    return await client.post(RESET, json={"token": token, "password": password})


def assert_invalid_link(response: httpx.Response) -> None:
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_link_token"


async def login_status(client: httpx.AsyncClient, password: str) -> int:
    response = await client.post(
        "/api/v1/auth/login", json={"email": "alice@example.com", "password": password}
    )
    return response.status_code


async def test_forgot_password_answers_alike_for_known_unknown_and_inactive(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    await kit.users.create("alice@example.com", PASSWORD)
    ivan = await kit.users.create("ivan@example.com", PASSWORD)
    await kit.users.update(ivan.id, {"is_active": False})

    answers = [
        await client.post(FORGOT, json={"email": email})
        for email in ("alice@example.com", "ghost@example.com", "ivan@example.com")
    ]
    await kit.runner.drain()

    assert {r.status_code for r in answers} == {202}
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert [m.to for m in outbox.outbox] == ["alice@example.com"]


async def test_reset_link_points_at_the_configured_frontend(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    await kit.users.create("alice@example.com", PASSWORD)

    response = await client.post(
        FORGOT, json={"email": "alice@example.com"}, headers={"Host": "evil.example"}
    )
    await kit.runner.drain()

    assert response.status_code == 202
    links = outbox.links(outbox.last_to("alice@example.com"))
    assert len(links) == 1
    assert links[0].startswith("https://app.example.com/account/reset?token=")


async def test_a_weak_password_is_422_and_the_link_still_works(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    await kit.users.create("alice@example.com", PASSWORD)
    token = await reset_token(client, kit, outbox, "alice@example.com")

    weak = await reset(client, token, "short")
    common = await reset(client, token, "password123")
    good = await reset(client, token)

    assert weak.status_code == common.status_code == 422
    assert weak.json()["error"]["code"] == "invalid_password"
    assert good.status_code == 204
    assert await login_status(client, NEW_PASSWORD) == 200
    assert await login_status(client, PASSWORD) == 401


async def test_reset_ends_all_sessions_and_logs_nobody_in(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    sessions = [await signed_up(client), await login(client)]
    token = await reset_token(client, kit, outbox, "alice@example.com")

    response = await reset(client, token)

    assert response.status_code == 204
    assert response.content == b""
    assert "access_token" not in response.text
    for tokens in sessions:
        me = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 401
    listed = await kit.sessions.for_user(
        kit.tokens.decode(sessions[0]["access_token"], "access").user_id
    )
    assert listed == []


async def test_a_reset_token_works_only_once(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    await kit.users.create("alice@example.com", PASSWORD)
    token = await reset_token(client, kit, outbox, "alice@example.com")

    assert (await reset(client, token)).status_code == 204
    assert_invalid_link(await reset(client, token, "yet another passphrase"))
    assert await login_status(client, NEW_PASSWORD) == 200


async def test_an_older_reset_token_dies_once_the_password_changed(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    await kit.users.create("alice@example.com", PASSWORD)
    older = await reset_token(client, kit, outbox, "alice@example.com")
    newer = await reset_token(client, kit, outbox, "alice@example.com")
    assert older != newer

    assert (await reset(client, newer)).status_code == 204
    assert_invalid_link(await reset(client, older, "yet another passphrase"))
    assert await login_status(client, NEW_PASSWORD) == 200


async def test_a_password_change_also_kills_pending_reset_links(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    tokens = await signed_up(client)
    pending = await reset_token(client, kit, outbox, "alice@example.com")
    changed = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(tokens["access_token"]),
    )
    assert changed.status_code == 204

    assert_invalid_link(await reset(client, pending, "yet another passphrase"))


@pytest.mark.parametrize("ttl", [0, -1])
async def test_an_expired_reset_token_is_refused(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender, ttl: int
) -> None:
    user = await kit.users.create("alice@example.com", PASSWORD)
    live = await reset_token(client, kit, outbox, "alice@example.com")
    claims = kit.tokens.decode_action(live, "reset")
    expired = kit.tokens.issue_action(
        "reset", user_id=user.id, ttl=ttl, claims={"pwd": claims["pwd"]}
    )

    assert_invalid_link(await reset(client, expired))
    assert (await reset(client, live)).status_code == 204


async def test_a_verification_token_cannot_reset_a_password(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    user = await kit.users.create("alice@example.com", PASSWORD)
    token = kit.tokens.issue_action(
        "verify", user_id=user.id, ttl=600, claims={"email": user.email}
    )

    assert_invalid_link(await reset(client, token))
    assert await login_status(client, PASSWORD) == 200


async def test_a_deactivated_user_cannot_use_a_pending_reset_link(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    user = await kit.users.create("alice@example.com", PASSWORD)
    token = await reset_token(client, kit, outbox, "alice@example.com")
    await kit.users.update(user.id, {"is_active": False})

    assert_invalid_link(await reset(client, token))


async def test_reset_sends_a_password_changed_notice(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    await kit.users.create("alice@example.com", PASSWORD, full_name="Alice")
    token = await reset_token(client, kit, outbox, "alice@example.com")
    outbox.clear()

    assert (await reset(client, token)).status_code == 204
    await kit.runner.drain()

    [notice] = outbox.messages_to("alice@example.com")
    assert "password" in notice.subject.lower()
    assert token not in notice.text

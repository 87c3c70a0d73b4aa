"""Email verification: the emailed link, single use, expiry, binding to the address,
the request endpoint, and the verified-only login and dependency."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import Depends

from saaskit import SaaSKit
from saaskit.email import MemorySender
from saaskit.models import User
from tests.helpers import PASSWORD, KitFactory, bearer, build_app, client_for, login, register

VERIFY = "/api/v1/auth/verify-email"
REQUEST = "/api/v1/auth/request-verify-email"
FRONTEND = {"frontend_url": "https://app.example.com/portal", "verify_path": "/confirm-email"}


@pytest.fixture
async def kit(make_kit: KitFactory) -> SaaSKit[User]:
    return await make_kit(email=FRONTEND)


@pytest.fixture
def outbox(kit: SaaSKit[User]) -> MemorySender:
    sender = MemorySender()
    kit.mailer.sender = sender
    return sender


async def emailed_token(kit: SaaSKit[User], outbox: MemorySender, to: str) -> str:
    await kit.runner.drain()
    link = outbox.links(outbox.last_to(to))[0]
    return parse_qs(urlsplit(link).query)["token"][0]


async def verify(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(VERIFY, json={"token": token})


def assert_invalid_link(response: httpx.Response) -> None:
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_link_token"


async def test_registration_emails_a_link_built_from_settings_not_the_host_header(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "alice@example.com", "password": PASSWORD},
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    )
    assert response.status_code == 201
    await kit.runner.drain()

    message = outbox.last_to("alice@example.com")
    links = outbox.links(message)
    assert len(links) == 1
    assert links[0].startswith("https://app.example.com/portal/confirm-email?token=")
    assert "evil.example" not in message.text
    assert "evil.example" not in (message.html or "")


async def test_the_emailed_token_verifies_once(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    await register(client)
    token = await emailed_token(kit, outbox, "alice@example.com")

    first = await verify(client, token)
    again = await verify(client, token)

    assert first.status_code == 200
    assert first.json()["is_verified"] is True
    assert first.json()["email"] == "alice@example.com"
    assert_invalid_link(again)
    user = await kit.users.get_by_email("alice@example.com")
    assert user is not None
    assert user.is_verified


@pytest.mark.parametrize("ttl", [0, -1, -3600])
async def test_an_expired_verification_token_is_refused(
    client: httpx.AsyncClient, kit: SaaSKit[User], ttl: int
) -> None:
    await register(client)
    user = await kit.users.get_by_email("alice@example.com")
    assert user is not None
    token = kit.tokens.issue_action(
        "verify", user_id=user.id, ttl=ttl, claims={"email": user.email}
    )

    assert_invalid_link(await verify(client, token))


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
async def test_a_malformed_verification_token_is_refused(
    client: httpx.AsyncClient, token: str
) -> None:
    assert_invalid_link(await verify(client, token))


async def test_a_reset_token_does_not_verify_an_email(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    await register(client)
    user = await kit.users.get_by_email("alice@example.com")
    assert user is not None
    token = kit.tokens.issue_action("reset", user_id=user.id, ttl=600, claims={"email": user.email})

    assert_invalid_link(await verify(client, token))


async def test_a_token_for_the_old_address_dies_when_the_email_changes(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    await register(client)
    old_token = await emailed_token(kit, outbox, "alice@example.com")
    user = await kit.users.get_by_email("alice@example.com")
    assert user is not None
    await kit.users.update(user.id, {"email": "alice@new.example"})  # a superuser did it

    assert_invalid_link(await verify(client, old_token))
    user = await kit.users.get_by_email("alice@new.example")
    assert user is not None
    assert not user.is_verified


async def test_request_verify_email_answers_alike_and_mails_only_unverified_accounts(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    await register(client)
    await kit.runner.drain()
    outbox.clear()

    known = await client.post(REQUEST, json={"email": "ALICE@example.com"})
    unknown = await client.post(REQUEST, json={"email": "ghost@example.com"})
    await kit.runner.drain()

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [m.to for m in outbox.outbox] == ["alice@example.com"]
    fresh = parse_qs(urlsplit(outbox.links(outbox.outbox[0])[0]).query)["token"][0]
    assert (await verify(client, fresh)).status_code == 200

    outbox.clear()
    verified = await client.post(REQUEST, json={"email": "alice@example.com"})
    await kit.runner.drain()
    assert verified.json() == unknown.json()
    assert outbox.outbox == []


async def test_required_verification_blocks_login_until_verified(make_kit: KitFactory) -> None:
    kit = await make_kit(auth={"require_verified_login": True})
    outbox = MemorySender()
    kit.mailer.sender = outbox
    async with client_for(kit) as client:
        await register(client)
        blocked = await client.post(
            "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
        )
        token = await emailed_token(kit, outbox, "alice@example.com")
        assert (await verify(client, token)).status_code == 200
        tokens = await login(client)

    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "email_not_verified"
    assert "access_token" not in blocked.json()
    assert tokens["access_token"]


async def test_current_verified_user_is_403_until_the_email_is_verified(
    kit: SaaSKit[User], outbox: MemorySender
) -> None:
    app = build_app(kit)

    @app.get("/reports")
    async def reports(user: User = Depends(kit.current_verified_user)) -> dict[str, Any]:
        return {"email": user.email}

    async with client_for(kit, app) as client:
        await register(client)
        headers = bearer((await login(client))["access_token"])
        before = await client.get("/reports", headers=headers)
        token = await emailed_token(kit, outbox, "alice@example.com")
        assert (await verify(client, token)).status_code == 200
        after = await client.get("/reports", headers=headers)

    assert before.status_code == 403
    assert before.json()["error"]["code"] == "permission_denied"
    assert after.status_code == 200
    assert after.json() == {"email": "alice@example.com"}

"""Changing the email is a re-authenticated action confirmed from the new address.

The attack it closes: with a stolen 30-minute access token, ``PATCH /users/me`` switched
the email at once, and "forgot password" to the new address made the takeover permanent.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.audit.service import AuditAction
from saaskit.email import MemorySender
from saaskit.models import User
from tests.helpers import PASSWORD, KitFactory, bearer, login, register, signed_up

ME = "/api/v1/users/me"
CHANGE = "/api/v1/users/me/email"
CONFIRM = "/api/v1/auth/confirm-email-change"
REAUTH = "/api/v1/auth/reauthenticate"
OLD = "alice@example.com"
NEW = "alice@new.example"


@pytest.fixture
async def kit(make_kit: KitFactory) -> SaaSKit[User]:
    return await make_kit(email={"frontend_url": "https://app.example.com"})


@pytest.fixture
def outbox(kit: SaaSKit[User]) -> MemorySender:
    sender = MemorySender()
    kit.mailer.sender = sender
    return sender


async def age_session(kit: SaaSKit[User], tokens: dict[str, Any], seconds: int) -> None:
    """Make the token's session look as if its login happened ``seconds`` ago."""
    sid = kit.tokens.decode(tokens["access_token"], "access").session_id
    user_id = kit.tokens.decode(tokens["access_token"], "access").user_id
    session = await kit.sessions.get(sid, user_id)
    assert session is not None
    session.authenticated_at = int(time.time()) - seconds
    await kit.sessions.save(session)


async def change_token(kit: SaaSKit[User], outbox: MemorySender, to: str = NEW) -> str:
    await kit.runner.drain()
    link = outbox.links(outbox.last_to(to))[0]
    assert link.startswith("https://app.example.com/confirm-email-change?token=")
    return parse_qs(urlsplit(link).query)["token"][0]


async def test_patch_me_no_longer_changes_the_email(client: httpx.AsyncClient) -> None:
    tokens = await signed_up(client, OLD)

    response = await client.patch(ME, json={"email": NEW}, headers=bearer(tokens["access_token"]))

    assert response.status_code == 422
    assert "POST /users/me/email" in response.text
    me = await client.get(ME, headers=bearer(tokens["access_token"]))
    assert me.json()["email"] == OLD


async def test_the_email_changes_only_when_the_new_address_confirms(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    tokens = await signed_up(client, OLD)
    auth = bearer(tokens["access_token"])

    requested = await client.post(CHANGE, json={"email": NEW}, headers=auth)

    assert requested.status_code == 202
    token = await change_token(kit, outbox)
    assert (await client.get(ME, headers=auth)).json()["email"] == OLD  # not yet
    assert all("was changed" not in m.subject for m in outbox.messages_to(OLD))

    confirmed = await client.post(CONFIRM, json={"token": token})

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email"] == NEW
    assert confirmed.json()["is_verified"] is True  # the link reached the new address
    assert (await client.get(ME, headers=auth)).json()["email"] == NEW
    await kit.runner.drain()
    notice = outbox.last_to(OLD)
    assert "was changed" in notice.subject
    assert NEW in notice.text
    assert (await client.post(CONFIRM, json={"token": token})).status_code == 400  # once
    assert (await login(client, NEW))["access_token"]
    old_login = await client.post("/api/v1/auth/login", json={"email": OLD, "password": PASSWORD})
    assert old_login.status_code == 401
    events, _ = await kit.audit.page(user_id=confirmed.json()["id"])
    actions = [e.action for e in events]
    assert AuditAction.EMAIL_CHANGE_REQUESTED in actions
    assert AuditAction.EMAIL_CHANGED in actions


async def test_an_old_session_must_reauthenticate_first(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    # A token stolen from a session whose login is older than the window.
    tokens = await signed_up(client, OLD)
    await age_session(kit, tokens, 3600)
    auth = bearer(tokens["access_token"])

    refused = await client.post(CHANGE, json={"email": NEW}, headers=auth)
    delete = await client.delete(ME, headers=auth)

    for response in (refused, delete):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "reauthentication_required"
    await kit.runner.drain()
    assert outbox.messages_to(NEW) == []
    wrong = await client.post(REAUTH, json={"password": "not " + PASSWORD}, headers=auth)
    assert wrong.status_code == 401
    assert (await client.post(CHANGE, json={"email": NEW}, headers=auth)).status_code == 403

    right = await client.post(REAUTH, json={"password": PASSWORD}, headers=auth)

    assert right.status_code == 200
    assert right.headers["cache-control"] == "no-store"
    assert (await client.post(CHANGE, json={"email": NEW}, headers=auth)).status_code == 202


async def test_refreshing_never_renews_the_recent_login(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    tokens = await signed_up(client, OLD)
    await age_session(kit, tokens, 3600)

    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )

    auth = bearer(refreshed.json()["access_token"])
    response = await client.post(CHANGE, json={"email": NEW}, headers=auth)
    assert response.status_code == 403


async def test_reauthentication_guesses_count_against_the_account(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    tokens = await signed_up(client, OLD)
    auth = bearer(tokens["access_token"])
    limit = kit.settings.rate_limit.login_account.limit

    statuses = [
        (await client.post(REAUTH, json={"password": f"guess {i}"}, headers=auth)).status_code
        for i in range(limit + 1)
    ]

    assert statuses == [401] * limit + [429]
    right = await client.post(REAUTH, json={"password": PASSWORD}, headers=auth)
    assert right.status_code == 429  # even the right one, until the window passes


async def test_the_link_dies_when_the_address_changed_another_way(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    tokens = await signed_up(client, OLD)
    await client.post(CHANGE, json={"email": NEW}, headers=bearer(tokens["access_token"]))
    token = await change_token(kit, outbox)
    user = await kit.users.get_by_email(OLD)
    assert user is not None
    await kit.users.update(user.id, {"email": "alice@third.example"})  # a superuser did it

    response = await client.post(CONFIRM, json={"token": token})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_link_token"


async def test_an_address_taken_before_or_after_the_request_is_409(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    tokens = await signed_up(client, OLD)
    auth = bearer(tokens["access_token"])
    await register(client, "bob@example.com")

    taken = await client.post(CHANGE, json={"email": "BOB@example.com"}, headers=auth)
    same = await client.post(CHANGE, json={"email": OLD}, headers=auth)
    await client.post(CHANGE, json={"email": NEW}, headers=auth)
    token = await change_token(kit, outbox)
    await register(client, NEW)  # someone registers the address before the link is opened
    late = await client.post(CONFIRM, json={"token": token})

    assert taken.status_code == 409
    assert same.status_code == 422
    assert late.status_code == 409
    assert (await client.get(ME, headers=auth)).json()["email"] == OLD


async def test_other_link_tokens_do_not_confirm_an_email_change(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    await signed_up(client, OLD)
    await client.post("/api/v1/auth/forgot-password", json={"email": OLD})
    await kit.runner.drain()
    reset = parse_qs(urlsplit(outbox.links(outbox.last_to(OLD))[0]).query)["token"][0]

    response = await client.post(CONFIRM, json={"token": reset})

    assert response.status_code == 400


async def test_hosts_hear_of_the_change(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    seen: list[dict[str, Any]] = []

    @kit.hooks.on_after_update
    async def record(user: User, changes: dict[str, Any], client: Any) -> None:
        seen.append({"email": user.email, **changes})

    tokens = await signed_up(client, OLD)
    await client.post(CHANGE, json={"email": NEW}, headers=bearer(tokens["access_token"]))
    await client.post(CONFIRM, json={"token": await change_token(kit, outbox)})

    assert seen == [{"email": NEW, "is_verified": True}]


async def test_deleting_the_account_in_a_fresh_session_works(client: httpx.AsyncClient) -> None:
    tokens = await signed_up(client, OLD)

    response = await client.delete(ME, headers=bearer(tokens["access_token"]))

    assert response.status_code == 204

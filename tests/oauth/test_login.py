"""Sign-up and login with a provider, end to end against the fake provider over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from saaskit import SaaSKit
from saaskit.testing.fake_oauth import FakeOAuthProvider
from tests.helpers import PASSWORD, bearer, login, register
from tests.oauth.helpers import (
    LANDING,
    OAUTH,
    exchange,
    landing,
    me,
    provider_login,
    query_of,
    start,
)


async def audit_actions(kit: SaaSKit[Any]) -> list[tuple[str, str, dict[str, Any]]]:
    table = kit.models.audit_event
    async with kit.session_factory() as db:
        rows = (await db.scalars(select(table).order_by(table.id))).all()
    return [(r.action, r.outcome, r.detail or {}) for r in rows]


async def test_signing_up_with_a_verified_email_creates_a_verified_account_without_password(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    tokens = await provider_login(client)
    user = await me(client, tokens["access_token"])
    assert user["email"] == "alice@example.com"
    assert user["is_verified"] is True
    assert user["full_name"] == "Alice"
    # No password opens it, and the password change says how to set one.
    refused = await client.post(
        "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert refused.status_code == 401
    change = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new password"},
        headers=bearer(tokens["access_token"]),
    )
    assert change.status_code == 401
    assert "no password" in change.json()["error"]["message"]
    actions = await audit_actions(kit)
    assert ("register", "success", {}) in actions
    assert ("oauth_login", "success", {"provider": "fake", "signup": True}) in actions
    assert ("login", "success", {"method": "oauth:fake"}) in actions


async def test_logging_in_again_finds_the_linked_account_even_with_a_new_email(
    fake: FakeOAuthProvider, client: httpx.AsyncClient
) -> None:
    first = await me(client, (await provider_login(client))["access_token"])
    fake.users["alice"].email = "alice@new.example.com"
    fake.users["alice"].email_verified = False  # a linked account needs no verified email
    again = await me(client, (await provider_login(client))["access_token"])
    assert again["id"] == first["id"]
    accounts = await client.get(
        f"{OAUTH}/accounts", headers=bearer((await provider_login(client))["access_token"])
    )
    assert [a["email"] for a in accounts.json()] == ["alice@new.example.com"]


async def test_github_sign_up_reads_the_user_and_its_verified_primary_email(
    fake: FakeOAuthProvider, client: httpx.AsyncClient
) -> None:
    fake.add_user("octo", "octo@example.com", email_verified=True, name="Octo Cat")
    fake.approve_as = "octo"
    user = await me(client, (await provider_login(client, "gh"))["access_token"])
    assert (user["email"], user["is_verified"]) == ("octo@example.com", True)
    assert ("GET", "/api/user/emails") in fake.requests


async def test_an_unverified_email_cannot_sign_up(
    kit: SaaSKit[Any], fake: FakeOAuthProvider, client: httpx.AsyncClient
) -> None:
    fake.users["alice"].email_verified = False
    for provider in ("fake", "gh"):
        assert await landing(client, provider) == {"error": "oauth_email_unverified"}
    assert await kit.users.get_by_email("alice@example.com") is None


async def test_the_email_of_an_existing_account_never_logs_into_it(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    assert (await register(client)).status_code == 201
    result = await landing(client)
    assert result == {"error": "oauth_account_exists"}  # no handoff code at all
    actions = await audit_actions(kit)
    assert (
        "oauth_login",
        "failure",
        {"provider": "fake", "code": "oauth_account_exists"},
    ) in actions
    assert not [a for a in actions if a[0] == "login" and a[1] == "success"]


async def test_the_landing_page_gets_a_handoff_code_never_a_token(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    authorization = await start(client, redirect_to="http://localhost:3000/welcome?x=1")
    from tests.oauth.helpers import back_from_provider

    done = await back_from_provider(client, authorization)
    location = done.headers["location"]
    assert location.startswith("http://localhost:3000/welcome?")
    query = query_of(location)
    assert set(query) == {"x", "code"}
    assert done.headers["referrer-policy"] == "no-referrer"
    assert done.headers["cache-control"] == "no-store"
    tokens = (await exchange(client, query["code"])).json()
    assert tokens["access_token"] not in location


async def test_a_handoff_code_is_exchanged_once(client: httpx.AsyncClient) -> None:
    code = (await landing(client))["code"]
    assert (await exchange(client, code)).status_code == 200
    replayed = await exchange(client, code)
    assert replayed.status_code == 400
    assert replayed.json()["error"]["code"] == "oauth_handoff_invalid"
    unknown = await exchange(client, "x" * 43)
    assert unknown.json()["error"]["code"] == "oauth_handoff_invalid"


async def test_a_deactivated_user_cannot_log_in_with_the_provider(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    user_id = (await me(client, (await provider_login(client))["access_token"]))["id"]
    await kit.users.update(user_id, {"is_active": False})
    assert await landing(client) == {"error": "invalid_credentials"}


async def test_the_default_landing_page_is_under_the_frontend_url(
    client: httpx.AsyncClient,
) -> None:
    from tests.oauth.helpers import back_from_provider

    done = await back_from_provider(client, await start(client))
    assert done.headers["location"].startswith(LANDING + "?code=")


async def test_password_login_still_works_for_accounts_with_a_password(
    client: httpx.AsyncClient,
) -> None:
    assert (await register(client, "bob@example.com")).status_code == 201
    assert "access_token" in await login(client, "bob@example.com")

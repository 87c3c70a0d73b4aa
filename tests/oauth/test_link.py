"""Linking and unlinking providers, end to end against the fake provider."""

from __future__ import annotations

from typing import Any

import httpx

from saaskit import SaaSKit
from saaskit.testing.fake_oauth import FakeOAuthProvider
from tests.helpers import bearer, login, register
from tests.oauth.helpers import (
    OAUTH,
    back_from_provider,
    exchange,
    landing,
    link,
    mark_verified,
    me,
    provider_login,
    query_of,
)
from tests.oauth.test_login import audit_actions
from tests.secret_scan import REGISTRY


async def test_a_logged_in_user_links_the_provider_then_logs_in_with_it_then_unlinks(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    assert (await register(client)).status_code == 201
    await mark_verified(kit)
    session = await login(client)
    assert await link(client, session["access_token"]) == {"linked": "fake"}
    mine = await client.get(f"{OAUTH}/accounts", headers=bearer(session["access_token"]))
    assert [a["provider"] for a in mine.json()] == ["fake"]
    via_provider = await provider_login(client)
    assert (await me(client, via_provider["access_token"]))["email"] == "alice@example.com"
    unlinked = await client.delete(
        f"{OAUTH}/accounts/fake", headers=bearer(session["access_token"])
    )
    assert unlinked.status_code == 204  # the password remains
    # Unlinked: the provider login is a sign-up again, refused for an existing email.
    assert await landing(client) == {"error": "oauth_account_exists"}
    actions = [(a, o) for a, o, _ in await audit_actions(kit)]
    assert ("oauth_linked", "success") in actions
    assert ("oauth_unlinked", "success") in actions


async def test_linking_needs_a_verified_email_at_the_provider(
    kit: SaaSKit[Any], fake: FakeOAuthProvider, client: httpx.AsyncClient
) -> None:
    assert (await register(client)).status_code == 201
    await mark_verified(kit)
    session = await login(client)
    fake.users["alice"].email_verified = False
    assert await link(client, session["access_token"]) == {"error": "oauth_email_unverified"}


async def test_linking_needs_a_login_session(client: httpx.AsyncClient) -> None:
    refused = await client.post(f"{OAUTH}/fake/link", json={})
    assert refused.status_code == 401


async def test_a_provider_account_links_to_one_user_only(
    kit: SaaSKit[Any], fake: FakeOAuthProvider, client: httpx.AsyncClient
) -> None:
    assert (await register(client)).status_code == 201
    await mark_verified(kit)
    assert (await register(client, "bob@example.com")).status_code == 201
    await mark_verified(kit, "bob@example.com")
    alice = await login(client)
    bob = await login(client, "bob@example.com")
    assert await link(client, alice["access_token"]) == {"linked": "fake"}
    assert await link(client, bob["access_token"]) == {"error": "oauth_already_linked"}
    fake.add_user("alice2", "alice2@example.com")
    fake.approve_as = "alice2"  # another account of the same provider for alice
    assert await link(client, alice["access_token"]) == {"error": "oauth_already_linked"}


async def test_the_only_way_to_log_in_cannot_be_unlinked(client: httpx.AsyncClient) -> None:
    tokens = await provider_login(client)
    refused = await client.delete(f"{OAUTH}/accounts/fake", headers=bearer(tokens["access_token"]))
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "oauth_last_login_method"
    missing = await client.delete(f"{OAUTH}/accounts/gh", headers=bearer(tokens["access_token"]))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "oauth_not_linked"


async def test_a_password_less_user_may_unlink_one_of_two_providers(
    client: httpx.AsyncClient,
) -> None:
    tokens = await provider_login(client)
    assert await link(client, tokens["access_token"], "gh") == {"linked": "gh"}
    headers = bearer(tokens["access_token"])
    assert (await client.delete(f"{OAUTH}/accounts/fake", headers=headers)).status_code == 204
    last = await client.delete(f"{OAUTH}/accounts/gh", headers=headers)
    assert last.json()["error"]["code"] == "oauth_last_login_method"
    # GitHub still logs in to the same account.
    again = await provider_login(client, "gh")
    assert (await me(client, again["access_token"]))["email"] == "alice@example.com"


async def test_a_link_whose_session_ended_meanwhile_is_refused(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    assert (await register(client)).status_code == 201
    await mark_verified(kit)
    session = await login(client)
    started = await client.post(
        f"{OAUTH}/fake/link", json={}, headers=bearer(session["access_token"])
    )
    assert started.status_code == 200
    logout = await client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": session["refresh_token"]},
        headers=bearer(session["access_token"]),
    )
    assert logout.status_code == 204
    done = await back_from_provider(client, started.json()["authorization_url"])
    assert query_of(done.headers["location"]) == {"error": "oauth_state_invalid"}
    user = await kit.users.get_by_email("alice@example.com")
    assert user is not None
    assert await kit.oauth.accounts(user.id) == []


async def test_linked_accounts_are_in_the_privacy_export_and_go_with_the_user(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    tokens = await provider_login(client)
    user_id = (await me(client, tokens["access_token"]))["id"]
    [exporter] = [e for e in kit.data_exporters() if e.name == "oauth_accounts"]
    [record] = await exporter.export(user_id)
    assert (record["provider"], record["subject"], record["email"]) == (
        "fake",
        "alice",
        "alice@example.com",
    )
    await kit.users.delete(user_id)
    assert await kit.oauth.accounts(user_id) == []


async def test_a_provider_login_asks_for_the_second_factor_when_the_account_has_one(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    from tests.mfa.helpers import Clock, enroll, verify

    clock = Clock()
    kit.mfa.clock = clock
    enrolled = await enroll(client, clock)
    access = enrolled.headers["Authorization"].removeprefix("Bearer ")
    await mark_verified(kit)
    assert await link(client, access) == {"linked": "fake"}
    code = (await landing(client))["code"]
    challenged = await exchange(client, code)
    assert challenged.status_code == 403
    error = challenged.json()["error"]
    assert error["code"] == "mfa_required"
    REGISTRY.add("MFA challenge", error["challenge_token"])
    assert "access_token" not in challenged.text
    done = await verify(client, error["challenge_token"], code=enrolled.code(clock))
    assert done.status_code == 200, done.text
    assert (await me(client, done.json()["access_token"]))["email"] == "alice@example.com"


async def test_an_unverified_account_cannot_link_a_provider(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    """Pre-account takeover: an account registered with someone else's address must not
    gain a provider login that would survive the real owner's password reset."""
    assert (await register(client, "victim@example.com")).status_code == 201
    squatter = await login(client, "victim@example.com")
    refused = await client.post(
        f"{OAUTH}/fake/link", json={}, headers=bearer(squatter["access_token"])
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "email_not_verified"
    user = await kit.users.get_by_email("victim@example.com")
    assert user is not None
    assert await kit.oauth.accounts(user.id) == []

"""The abuse cases of the provider login: forged or replayed state, codes and ID tokens,
login CSRF through another browser's state, open redirects."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.testing.fake_oauth import FakeOAuthProvider
from tests.oauth.conftest import browser, make
from tests.oauth.helpers import (
    OAUTH,
    at_provider,
    back_from_provider,
    exchange,
    landing,
    query_of,
    start,
)
from tests.oauth.test_login import audit_actions


async def test_an_unknown_state_is_refused(client: httpx.AsyncClient) -> None:
    await start(client)  # the browser has its cookie
    for query in ("state=forged&code=abc", "code=abc", ""):
        refused = await client.get(f"{OAUTH}/fake/callback?{query}")
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "oauth_state_invalid"


async def test_a_callback_with_another_browsers_state_is_refused_and_spends_it(
    kit: SaaSKit[Any], fake: FakeOAuthProvider, client: httpx.AsyncClient
) -> None:
    # The attacker starts a login and gets their own code; the victim's browser is sent
    # to the callback with it (login CSRF).
    approved = await at_provider(await start(client))
    callback = urlsplit(approved.headers["location"])
    async with browser(kit) as victim:
        await start(victim)  # the victim has a cookie of its own
        refused = await victim.get(f"{callback.path}?{callback.query}")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "oauth_state_invalid"
    # Spent: the attacker's own browser cannot use it afterwards either.
    again = await client.get(f"{callback.path}?{callback.query}")
    assert again.status_code == 400
    assert fake.token_errors == []  # the code never reached the token endpoint
    failures = [d for a, o, d in await audit_actions(kit) if a == "oauth_login" and o == "failure"]
    assert failures[0]["reason"] == "other_browser"


async def test_a_callback_without_the_cookie_is_refused(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    approved = await at_provider(await start(client))
    callback = urlsplit(approved.headers["location"])
    async with browser(kit) as cookieless:
        refused = await cookieless.get(f"{callback.path}?{callback.query}")
    assert refused.json()["error"]["code"] == "oauth_state_invalid"


async def test_a_replayed_callback_is_refused(client: httpx.AsyncClient) -> None:
    approved = await at_provider(await start(client))
    callback = urlsplit(approved.headers["location"])
    first = await client.get(f"{callback.path}?{callback.query}")
    assert "code" in query_of(first.headers["location"])
    second = await client.get(f"{callback.path}?{callback.query}")
    assert second.json()["error"]["code"] == "oauth_state_invalid"


async def test_a_replayed_authorization_code_is_refused_with_a_fresh_state(
    fake: FakeOAuthProvider, client: httpx.AsyncClient
) -> None:
    approved = await at_provider(await start(client))
    used = query_of(approved.headers["location"])["code"]
    first = await client.get(
        urlsplit(approved.headers["location"]).path
        + "?"
        + urlsplit(approved.headers["location"]).query
    )
    assert "code" in query_of(first.headers["location"])
    # A new flow of the same browser, carrying the old code.
    state = query_of(await start(client))["state"]
    replayed = await client.get(f"{OAUTH}/fake/callback", params={"state": state, "code": used})
    assert query_of(replayed.headers["location"]) == {"error": "oauth_provider_error"}
    assert fake.token_errors
    assert fake.token_errors[-1].startswith("invalid_grant")


async def test_a_code_redeemed_without_the_flows_verifier_fails_pkce(
    fake: FakeOAuthProvider, client: httpx.AsyncClient
) -> None:
    # An intercepted code injected into another flow: the provider checks the verifier.
    first = await at_provider(await start(client))
    stolen = query_of(first.headers["location"])["code"]
    state = query_of(await start(client))["state"]
    injected = await client.get(f"{OAUTH}/fake/callback", params={"state": state, "code": stolen})
    assert query_of(injected.headers["location"]) == {"error": "oauth_provider_error"}
    assert fake.token_errors == ["invalid_grant: PKCE verifier mismatch"]


@pytest.mark.parametrize(
    "tampering",
    [
        {"aud": "another-client"},
        {"aud": ["saaskit-test-client", "another-client"]},  # no azp naming us
        {"iss": "https://evil.example.com"},
        {"exp": 1_000_000_000, "iat": 999_999_000},  # expired long ago
        {"foreign_key": True},  # a signature the JWKS does not verify
        {"nonce": "another-flows-nonce"},
    ],
    ids=["audience", "audiences-without-azp", "issuer", "expired", "signature", "nonce"],
)
async def test_an_id_token_failing_a_check_logs_nobody_in(
    kit: SaaSKit[Any], fake: FakeOAuthProvider, client: httpx.AsyncClient, tampering: dict[str, Any]
) -> None:
    fake.tamper(**tampering)
    assert await landing(client) == {"error": "oauth_provider_error"}
    assert await kit.users.get_by_email("alice@example.com") is None


async def test_a_refusal_at_the_provider_comes_back_as_an_error(
    fake: FakeOAuthProvider, client: httpx.AsyncClient
) -> None:
    fake.deny = True
    assert await landing(client) == {"error": "oauth_provider_error"}


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.com/steal",
        "//evil.example.com/x",
        "javascript:alert(1)",
        "http://localhost:3000.evil.example.com/",
        "/relative",
    ],
)
async def test_a_redirect_outside_the_allowlist_is_refused_before_the_provider(
    fake: FakeOAuthProvider, client: httpx.AsyncClient, target: str
) -> None:
    before = len(fake.requests)
    refused = await client.get(f"{OAUTH}/fake/authorize", params={"redirect_to": target})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "oauth_redirect_not_allowed"
    assert len(fake.requests) == before
    assert target not in refused.text  # never echoed


async def test_allowed_redirect_origins_and_exact_cors_origins_are_accepted(
    database_url: str, fake: FakeOAuthProvider
) -> None:
    kit = make(database_url, fake, allowed_redirect_origins=["https://app.example.com"])
    try:
        async with browser(kit) as client:
            result = await landing(client, redirect_to="https://app.example.com/done")
            assert "code" in result
    finally:
        await kit.aclose()


async def test_the_binding_cookie_is_httponly_lax_and_scoped(client: httpx.AsyncClient) -> None:
    started = await client.get(f"{OAUTH}/fake/authorize")
    cookie = started.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/api/v1/oauth" in cookie
    assert "secure" not in cookie  # http callback base (development)
    again = await client.get(f"{OAUTH}/fake/authorize")
    assert "set-cookie" not in again.headers  # one value per browser: tabs do not collide


async def test_the_cookie_is_secure_behind_an_https_callback(
    database_url: str, fake: FakeOAuthProvider
) -> None:
    kit = make(database_url, fake, callback_base_url="https://api.example.com")
    try:
        async with browser(kit) as client:
            started = await client.get(f"{OAUTH}/fake/authorize")
        assert "secure" in started.headers["set-cookie"].lower()
        assert (
            "redirect_uri=https%3A%2F%2Fapi.example.com%2Fapi%2Fv1%2Foauth%2Ffake%2Fcallback"
            in (started.headers["location"])
        )
    finally:
        await kit.aclose()


async def test_two_tabs_of_one_browser_each_finish_their_login(client: httpx.AsyncClient) -> None:
    first, second = await start(client), await start(client)
    for url in (second, first):
        done = await back_from_provider(client, url)
        assert "code" in query_of(done.headers["location"])


async def test_an_unknown_provider_is_404(client: httpx.AsyncClient) -> None:
    missing = await client.get(f"{OAUTH}/nope/authorize")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "oauth_provider_not_found"


async def test_starting_logins_is_rate_limited_per_ip(
    database_url: str, fake: FakeOAuthProvider
) -> None:
    kit = make(database_url, fake, rate_limit="2/1m")
    try:
        async with browser(kit) as client:
            for _ in range(2):
                await start(client)
            limited = await client.get(f"{OAUTH}/fake/authorize")
        assert limited.status_code == 429
        assert "retry-after" in limited.headers
    finally:
        await kit.aclose()


async def test_handoff_codes_and_states_are_stored_hashed(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    state = query_of(await start(client))["state"]
    assert await kit.store.get(f"oauth:state:{state}") is None
    from saaskit.oauth.flow import digest

    assert await kit.store.get(f"oauth:state:{digest(state)}") is not None


async def test_the_feature_is_off_without_providers(database_url: str) -> None:
    from saaskit.email.memory import MemorySender
    from tests.helpers import make_settings, new_store

    kit = SaaSKit(make_settings(database_url), store=new_store(), email_sender=MemorySender())
    try:
        assert "oauth" not in {f.name for f in kit.features if f.enabled(kit.settings)}
        async with browser(kit) as client:
            assert (await client.get(f"{OAUTH}/providers")).status_code == 404
    finally:
        await kit.aclose()


async def test_the_providers_are_listed_for_the_login_page(client: httpx.AsyncClient) -> None:
    listed = await client.get(f"{OAUTH}/providers")
    assert listed.json() == [
        {"key": "fake", "display_name": "Fake", "kind": "oidc"},
        {"key": "gh", "display_name": "Gh", "kind": "github"},
    ]
    assert await exchange(client, "y" * 43) is not None

"""Provider details: the Google preset, discovery, key rotation, the extra, password-less
accounts on the password paths."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.email.memory import MemorySender
from saaskit.exceptions import MissingExtra
from saaskit.oauth import OAuthFeature, OAuthSettings
from saaskit.oauth.errors import OAuthProviderError
from saaskit.oauth.providers import ProviderClient
from saaskit.testing.fake_oauth import FakeOAuthProvider
from tests.helpers import PASSWORD, bearer, login, make_settings, new_store
from tests.oauth.conftest import browser, make
from tests.oauth.helpers import me, provider_login


async def test_the_google_preset_reads_googles_discovery_and_checks_its_issuer(
    database_url: str,
) -> None:
    with FakeOAuthProvider(issuer="https://accounts.google.com") as google:
        google.add_user("g-123", "gina@example.com", email_verified=True)
        google.approve_as = "g-123"
        settings = {
            "kind": "google",
            "client_id": google.client_id,
            "client_secret": google.client_secret,
            "discovery_url": f"{google.url}/.well-known/openid-configuration",
        }
        kit = make(database_url, google, providers={"google": settings})
        try:
            provider = kit.oauth.provider("google")
            assert provider.issuer == "https://accounts.google.com"
            assert provider.display_name == "Google"
            async with browser(kit) as client:
                tokens = await provider_login(client, "google")
                assert (await me(client, tokens["access_token"]))["email"] == "gina@example.com"
        finally:
            await kit.aclose()


async def test_a_discovery_document_naming_another_issuer_is_refused(
    fake: FakeOAuthProvider,
) -> None:
    settings = OAuthSettings(providers={"x": fake.oidc_provider(issuer="https://other.example")})
    provider = ProviderClient("x", settings.providers["x"], settings, "http://test/cb")
    with pytest.raises(OAuthProviderError):
        await provider.endpoints()


async def test_a_rotated_signing_key_is_fetched_again(
    kit: SaaSKit[Any], fake: FakeOAuthProvider, client: httpx.AsyncClient
) -> None:
    await provider_login(client)
    jwks_reads = fake.requests.count(("GET", "/jwks"))
    fake.rotate_key()
    await provider_login(client)  # an unknown kid: the JWKS is read again, once
    assert fake.requests.count(("GET", "/jwks")) == jwks_reads + 1
    await provider_login(client)  # known now
    assert fake.requests.count(("GET", "/jwks")) == jwks_reads + 1


async def test_an_oidc_provider_needs_an_issuer() -> None:
    with pytest.raises(ValueError, match="issuer"):
        OAuthSettings(providers={"x": {"kind": "oidc", "client_id": "c"}})


async def test_without_the_extra_the_kit_says_which_one_to_install(
    database_url: str, fake: FakeOAuthProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "authlib" else real(name, *a)
    )
    with pytest.raises(MissingExtra, match=r"saaskit\[oauth\]"):
        SaaSKit(
            make_settings(database_url),
            store=new_store(),
            features=[OAuthFeature(OAuthSettings(providers={"f": fake.oidc_provider()}))],
        )


async def test_a_password_less_account_fails_reauthentication_like_a_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    tokens = await provider_login(client)
    refused = await client.post(
        "/api/v1/auth/reauthenticate",
        json={"password": PASSWORD},
        headers=bearer(tokens["access_token"]),
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_credentials"


async def test_the_forgot_password_reset_gives_a_provider_account_a_password(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    tokens = await provider_login(client)
    user = await kit.users.get((await me(client, tokens["access_token"]))["id"])
    assert user is not None
    assert user.hashed_password.startswith("!")
    outbox = MemorySender()
    kit.mailer.sender = outbox
    forgot = await client.post("/api/v1/auth/forgot-password", json={"email": user.email})
    assert forgot.status_code == 202
    await kit.runner.drain()
    link = outbox.links(outbox.last_to(user.email))[0]
    token = parse_qs(urlsplit(link).query)["token"][0]
    done = await client.post(
        "/api/v1/auth/reset-password", json={"token": token, "password": "a long new password 42"}
    )
    assert done.status_code in (200, 204), done.text
    logged_in = await login(client, user.email, "a long new password 42")
    # Now the provider can be unlinked: the password remains.
    gone = await client.delete(
        "/api/v1/oauth/accounts/fake", headers=bearer(logged_in["access_token"])
    )
    assert gone.status_code == 204


async def test_the_shipped_fixture_serves_a_provider(fake_oauth: FakeOAuthProvider) -> None:
    async with httpx.AsyncClient() as http:
        discovery = (await http.get(f"{fake_oauth.url}/.well-known/openid-configuration")).json()
        keys = (await http.get(discovery["jwks_uri"])).json()["keys"]
    assert discovery["issuer"] == fake_oauth.url
    assert [k["kty"] for k in keys] == ["RSA"]


async def test_production_refuses_a_plain_http_callback(
    database_url: str, fake: FakeOAuthProvider
) -> None:
    from saaskit.features import FeatureError

    settings = make_settings(database_url).model_copy(update={"environment": "production"})
    feature = OAuthFeature(OAuthSettings(providers={"f": fake.oidc_provider()}))
    with pytest.raises(FeatureError, match="https"):
        SaaSKit(settings, store=new_store(), features=[feature])
    secure = OAuthSettings(
        providers={"f": fake.oidc_provider()}, callback_base_url="https://api.example.com"
    )
    kit = SaaSKit(settings, store=new_store(), features=[OAuthFeature(secure)])
    try:
        assert kit.oauth.secure_cookie
    finally:
        await kit.aclose()

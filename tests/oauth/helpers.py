"""Driving the browser side of a provider login: the app, the fake provider, back."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.helpers import bearer
from tests.secret_scan import REGISTRY

OAUTH = "/api/v1/oauth"
LANDING = "http://localhost:3000/oauth/callback"


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def at_provider(url: str) -> httpx.Response:
    """The browser at the provider's authorization URL (real HTTP to the fake)."""
    async with httpx.AsyncClient() as provider:
        return await provider.get(url)


async def start(client: httpx.AsyncClient, provider: str = "fake", **params: str) -> str:
    """Start a login; returns the provider's authorization URL."""
    started = await client.get(f"{OAUTH}/{provider}/authorize", params=params)
    assert started.status_code == 302, started.text
    return started.headers["location"]


async def back_from_provider(client: httpx.AsyncClient, authorization_url: str) -> httpx.Response:
    """Approve at the provider, then follow its redirect to the app's callback."""
    approved = await at_provider(authorization_url)
    assert approved.status_code == 302, approved.text
    callback = urlsplit(approved.headers["location"])
    return await client.get(f"{callback.path}?{callback.query}")


async def landing(
    client: httpx.AsyncClient, provider: str = "fake", **params: str
) -> dict[str, str]:
    """A whole browser flow; returns the landing page's query (``code`` or ``error``)."""
    done = await back_from_provider(client, await start(client, provider, **params))
    assert done.status_code == 302, done.text
    return query_of(done.headers["location"])


async def exchange(client: httpx.AsyncClient, code: str) -> httpx.Response:
    return await client.post(f"{OAUTH}/token", json={"code": code})


async def provider_login(client: httpx.AsyncClient, provider: str = "fake") -> dict[str, Any]:
    """Log in through the provider; returns the token pair."""
    result = await landing(client, provider)
    assert "code" in result, result
    tokens = await exchange(client, result["code"])
    assert tokens.status_code == 200, tokens.text
    pair: dict[str, Any] = tokens.json()
    REGISTRY.add("access token", pair["access_token"])
    return pair


async def link(
    client: httpx.AsyncClient, access_token: str, provider: str = "fake"
) -> dict[str, str]:
    """Link ``provider`` to the session's account; returns the landing page's query."""
    started = await client.post(f"{OAUTH}/{provider}/link", json={}, headers=bearer(access_token))
    assert started.status_code == 200, started.text
    done = await back_from_provider(client, started.json()["authorization_url"])
    assert done.status_code == 302, done.text
    return query_of(done.headers["location"])


async def me(client: httpx.AsyncClient, access_token: str) -> dict[str, Any]:
    response = await client.get("/api/v1/users/me", headers=bearer(access_token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def mark_verified(kit: Any, email: str = "alice@example.com") -> None:
    """Mark ``email`` verified, as its confirmation link would (linking needs it)."""
    user = await kit.users.get_by_email(email)
    assert user is not None
    await kit.users.update(user.id, {"is_verified": True})

"""Fixtures of the OAuth login tests: a fake provider (real HTTP) and a kit pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.email.memory import MemorySender
from saaskit.oauth import OAuthFeature, OAuthSettings
from saaskit.testing.fake_oauth import FakeOAuthProvider
from saaskit.testing.oauth_pytest import fake_oauth  # noqa: F401 - the shipped fixture, as hosts use it
from tests.helpers import build_app, make_settings, new_store

FRONTEND = "http://localhost:3000"


@pytest.fixture(scope="module")
def running_fake() -> Iterator[FakeOAuthProvider]:
    with FakeOAuthProvider() as fake:
        yield fake


@pytest.fixture
def fake(running_fake: FakeOAuthProvider) -> FakeOAuthProvider:
    """The module's fake, reset: no users, no tampering, approval as ``alice``."""
    running_fake.users.clear()
    running_fake.tamper()
    running_fake.deny = False
    running_fake.approve_as = "alice"
    running_fake.token_errors.clear()
    running_fake.add_user("alice", "alice@example.com", email_verified=True, name="Alice")
    return running_fake


def oauth_settings(fake: FakeOAuthProvider, **overrides: Any) -> OAuthSettings:
    return OAuthSettings(
        **{
            "providers": {"fake": fake.oidc_provider(), "gh": fake.github_provider()},
            "callback_base_url": "http://test",
            **overrides,
        }
    )


def make(database_url: str, fake: FakeOAuthProvider, **overrides: Any) -> SaaSKit[Any]:
    return SaaSKit(
        make_settings(database_url, email={"frontend_url": FRONTEND}),
        store=new_store(),
        email_sender=MemorySender(),
        features=[OAuthFeature(oauth_settings(fake, **overrides))],
    )


@pytest.fixture
async def kit(database_url: str, fake: FakeOAuthProvider) -> AsyncIterator[SaaSKit[Any]]:
    kit = make(database_url, fake)
    yield kit
    await kit.aclose()


def browser(kit: SaaSKit[Any]) -> httpx.AsyncClient:
    """A client with its own cookie jar: one browser."""
    transport = httpx.ASGITransport(app=build_app(kit), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture
async def client(kit: SaaSKit[Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(kit) as c:
        yield c

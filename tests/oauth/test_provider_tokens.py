"""Provider tokens: not kept by default; with ``store_provider_tokens`` kept sealed
(AES-GCM, bound to the provider account), opened by ``kit.oauth.provider_tokens`` and
usable at the provider; a tampered or moved value does not open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from saaskit import SaaSKit
from saaskit.oauth.tokens import TokenSealer, TokenSealError
from saaskit.testing.fake_oauth import FakeOAuthProvider
from tests.oauth.conftest import browser, make
from tests.oauth.helpers import me, provider_login
from tests.secret_scan import REGISTRY


async def rows(kit: SaaSKit[Any]) -> list[Any]:
    table = kit.models.tables["oauth_account"]
    async with kit.session_factory() as db:
        return list(await db.scalars(select(table).order_by(table.id)))


@pytest.fixture
async def keeping(database_url: str, fake: FakeOAuthProvider) -> AsyncIterator[SaaSKit[Any]]:
    kit = make(database_url, fake, store_provider_tokens=True)
    yield kit
    await kit.aclose()


async def test_tokens_are_not_kept_by_default(kit: SaaSKit[Any]) -> None:
    async with browser(kit) as client:
        pair = await provider_login(client)
        user = await me(client, pair["access_token"])
    (row,) = await rows(kit)
    assert row.access_token is None
    assert row.refresh_token is None
    assert await kit.oauth.provider_tokens(user["id"], "fake") is None


@pytest.mark.parametrize("provider", ["fake", "gh"])
async def test_kept_tokens_are_sealed_and_work_at_the_provider(
    keeping: SaaSKit[Any], fake: FakeOAuthProvider, provider: str
) -> None:
    async with browser(keeping) as client:
        pair = await provider_login(client, provider)
        user = await me(client, pair["access_token"])
    tokens = await keeping.oauth.provider_tokens(user["id"], provider)
    assert tokens is not None
    REGISTRY.add("provider access token", tokens.access_token)
    assert fake.user_of(f"Bearer {tokens.access_token}") is not None  # the provider's own
    assert tokens.expires_at is not None
    assert tokens.expires_at > datetime.now(UTC)
    (row,) = await rows(keeping)
    assert row.access_token.startswith("v1.")
    assert tokens.access_token not in row.access_token
    assert await keeping.oauth.provider_tokens(user["id"], "other") is None


async def test_a_tampered_or_moved_token_does_not_open(
    keeping: SaaSKit[Any], fake: FakeOAuthProvider
) -> None:
    fake.add_user("bob", "bob@example.com", email_verified=True, name="Bob")
    async with browser(keeping) as client:
        alice = await me(client, (await provider_login(client))["access_token"])
    fake.approve_as = "bob"
    async with browser(keeping) as client:
        bob = await me(client, (await provider_login(client))["access_token"])
    alice_row, bob_row = await rows(keeping)
    table = keeping.models.tables["oauth_account"]
    async with keeping.session_factory() as db:  # Alice's sealed token copied onto Bob's row
        await db.execute(
            update(table).where(table.id == bob_row.id).values(access_token=alice_row.access_token)
        )
        await db.commit()
    assert await keeping.oauth.provider_tokens(bob["id"], "fake") is None
    flipped = alice_row.access_token[:-2] + ("A" if alice_row.access_token[-2] != "A" else "B")
    async with keeping.session_factory() as db:
        await db.execute(update(table).where(table.id == alice_row.id).values(access_token=flipped))
        await db.commit()
    assert await keeping.oauth.provider_tokens(alice["id"], "fake") is None


def test_the_sealer_binds_key_and_account() -> None:
    sealer = TokenSealer("k" * 32)
    sealed = sealer.seal("gho_secret", provider="gh", subject="42")
    assert sealer.open(sealed, provider="gh", subject="42") == "gho_secret"
    with pytest.raises(TokenSealError):
        sealer.open(sealed, provider="gh", subject="43")
    with pytest.raises(TokenSealError):
        TokenSealer("j" * 32).open(sealed, provider="gh", subject="42")
    with pytest.raises(TokenSealError):
        sealer.open("not sealed", provider="gh", subject="42")
    assert sealer.seal("x", provider="gh", subject="42") != sealer.seal(
        "x", provider="gh", subject="42"
    )

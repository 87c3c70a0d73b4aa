"""Seats from the plan's ``seats`` quota: 402 at invite and at accept when every seat is
taken, with a code that says more seats would allow it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.email.memory import MemorySender
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from tests.helpers import build_app, make_settings, new_store
from tests.orgs.helpers import ORGS, invitation_token, new_org, verified


@pytest.fixture
async def seated(
    database_url: str,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
) -> AsyncIterator[tuple[SaaSKit[Any], httpx.AsyncClient]]:
    billing = fake_stripe.billing_settings(
        plans={"free": {"quotas": {"seats": 2}}}, default_plan="free"
    )
    kit: SaaSKit[Any] = SaaSKit(
        make_settings(database_url, billing=billing),
        store=new_store(),
        email_sender=MemorySender(),
    )
    transport = httpx.ASGITransport(app=build_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield kit, client
    await kit.aclose()


async def test_the_plan_seats_limit_invitations_and_accepts(
    seated: tuple[SaaSKit[Any], httpx.AsyncClient],
) -> None:
    kit, client = seated
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    # Two invitations while one seat is free (pending ones are not counted by default).
    for email in ("bob@example.com", "carol@example.com"):
        invited = await client.post(
            f"{ORGS}/{org}/invitations", json={"email": email}, headers=alice
        )
        assert invited.status_code == 201
    await kit.runner.drain()
    bob = await verified(kit, client, "bob@example.com")
    carol = await verified(kit, client, "carol@example.com")
    first = await client.post(
        f"{ORGS}/invitations/accept",
        json={"token": invitation_token(kit, "bob@example.com")},
        headers=bob,
    )
    assert first.status_code == 200
    full = await client.post(
        f"{ORGS}/invitations/accept",
        json={"token": invitation_token(kit, "carol@example.com")},
        headers=carol,
    )
    assert full.status_code == 402
    assert full.json()["error"]["code"] == "organization_seat_limit"
    no_more = await client.post(
        f"{ORGS}/{org}/invitations", json={"email": "dan@example.com"}, headers=alice
    )
    assert no_more.status_code == 402


async def test_pending_invitations_take_seats_when_the_setting_says_so(
    seated: tuple[SaaSKit[Any], httpx.AsyncClient],
) -> None:
    kit, client = seated
    kit.orgs.settings.seats_include_pending = True
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    assert (
        await client.post(
            f"{ORGS}/{org}/invitations", json={"email": "b@example.com"}, headers=alice
        )
    ).status_code == 201
    second = await client.post(
        f"{ORGS}/{org}/invitations", json={"email": "c@example.com"}, headers=alice
    )
    assert second.status_code == 402

"""A kit with billing on the fake Stripe and organizations, for the seat and delete tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from saaskit import SaaSKit
from saaskit.email.memory import MemorySender
from saaskit.orgs.seats import SeatSync
from saaskit.orgs.wiring import OrgsFeature
from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import Billing, add_prices
from tests.helpers import KitFactory, build_app
from tests.orgs.helpers import ORGS

SEAT_PLANS: dict[str, Any] = {
    "free": {"max_seats": 2},
    "pro": {"price": "pro_monthly", "max_seats": 5},
    "team": {"price": "team_monthly", "seat_mode": "manual", "max_seats": 50},
}


async def org_billing(
    make_kit: KitFactory,
    fake: FakeStripe,
    monkeypatch: pytest.MonkeyPatch,
    plans: dict[str, Any] | None = None,
    **orgs: str,
) -> Billing:
    """A kit (orgs settings from ``orgs``: ``sync_seat_quantity="true"``...) and its client.

    The caller closes ``billing.client``.
    """
    for name, value in orgs.items():
        monkeypatch.setenv(f"SAASKIT_ORGS__{name.upper()}", value)
    add_prices(fake)
    kit = await make_kit(
        billing=fake.billing_settings(
            plans=plans or SEAT_PLANS,
            default_plan="free",
            allowed_redirect_origins=["https://app.example.com"],
        )
    )
    kit.email_sender = kit.mailer.sender = MemorySender()
    transport = httpx.ASGITransport(app=build_app(kit), raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url="http://test")
    return Billing(kit, client, fake)


async def subscribe_org(
    billing: Billing, headers: dict[str, str], org: int, plan: str = "pro", quantity: int = 1
) -> str:
    """Checkout for the organization, pay in the fake, deliver; the subscription id."""
    response = await billing.client.post(
        "/api/v1/billing/create-checkout-session",
        params={"owner": f"organization:{org}"},
        json={"plan": plan, "quantity": quantity},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    subscription = billing.fake.complete_checkout(response.json()["id"])
    await billing.deliver()
    return str(subscription["id"])


def remote(fake: FakeStripe, subscription_id: str) -> dict[str, Any]:
    """The fake's subscription ``subscription_id``."""
    return next(s for s in fake.objects("subscriptions") if s["id"] == subscription_id)


def quantity(fake: FakeStripe, subscription_id: str) -> int:
    """The fake's quantity of the subscription."""
    return int(remote(fake, subscription_id)["items"]["data"][0]["quantity"])


async def invite(billing: Billing, headers: dict[str, str], org: int, email: str) -> httpx.Response:
    """``POST /orgs/{org}/invitations`` as a member."""
    return await billing.client.post(
        f"{ORGS}/{org}/invitations", json={"email": email}, headers=headers
    )


async def add_members(kit: SaaSKit[Any], org: int, *emails: str) -> None:
    """Members written straight to the table (no invitation, no job queued)."""
    member = kit.orgs.membership
    for email in emails:
        user = await kit.users.create(email, "correct horse battery staple 42")
        async with kit.session_factory() as db, db.begin():
            db.add(member(organization_id=org, user_id=user.id, role="member"))  # type: ignore[call-arg]


def seat_sync(kit: SaaSKit[Any]) -> SeatSync:
    """The organizations feature's quantity job."""
    feature = kit.features.named("orgs")
    assert isinstance(feature, OrgsFeature)
    assert feature.seat_sync is not None
    return feature.seat_sync


async def rows(kit: SaaSKit[Any], model: Any) -> list[Any]:
    """Every row of ``model``."""
    async with kit.session_factory() as db:
        return list(await db.scalars(select(model)))


@dataclass
class FakeClock:
    """A clock the quantity job reads, and a sleep that moves it on (no real waiting).

    ``during_sleep`` runs inside each sleep: changes made while the job waits.
    """

    now: float = 1_000_000.0
    slept: list[float] = field(default_factory=list)
    during_sleep: list[Any] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        for action in self.during_sleep:
            await action()
        self.during_sleep.clear()
        self.now += seconds

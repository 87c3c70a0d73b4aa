"""Helpers for the billing tests: plans, settings for the fake Stripe, a gated app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import Depends, FastAPI
from sqlalchemy import select

from saaskit import SaaSKit
from saaskit.billing.plans import UserPlan
from saaskit.models import User
from saaskit.testing.fake_stripe import FakeStripe
from tests.helpers import bearer, build_app, login, register

PLANS: dict[str, Any] = {
    "free": {"name": "Free", "features": ["basic"], "quotas": {"ai_tokens": 1000}},
    "basic": {"price": "price_basic", "features": ["basic"], "quotas": {"ai_tokens": 10_000}},
    "pro": {
        "name": "Pro",
        "price": "pro_monthly",
        "features": ["basic", "reports"],
        "quotas": {"ai_tokens": 100_000},
    },
    "team": {"price": "team_monthly", "features": ["basic", "reports", "sso"], "trial_days": 14},
}


def add_prices(fake: FakeStripe) -> None:
    fake.add_price(price_id="price_basic", unit_amount=500, product="Basic")
    fake.add_price("pro_monthly", unit_amount=2000, product="Pro")
    fake.add_price("team_monthly", unit_amount=5000, product="Team")


def billing_settings(fake: FakeStripe, **overrides: Any) -> dict[str, Any]:
    return fake.billing_settings(
        plans=PLANS,
        default_plan="free",
        allowed_redirect_origins=["https://app.example.com"],
        **overrides,
    )


def gated_app(kit: SaaSKit[User]) -> FastAPI:
    """The kit's app plus host routes gated on plans."""
    app = build_app(kit)

    @app.get("/reports")
    async def reports(plan: UserPlan = Depends(kit.require_plan("pro", "team"))) -> dict[str, Any]:
        return {"plan": plan.key}

    @app.get("/premium")
    async def premium(
        plan: UserPlan = Depends(kit.require_active_subscription()),
    ) -> dict[str, Any]:
        return {"plan": plan.key}

    @app.get("/sso")
    async def sso(plan: UserPlan = Depends(kit.require_feature("sso"))) -> dict[str, Any]:
        return {"plan": plan.key}

    @app.get("/basic")
    async def basic(plan: UserPlan = Depends(kit.require_feature("basic"))) -> dict[str, Any]:
        return {"plan": plan.key}

    return app


@dataclass
class Billing:
    """A kit with billing on the fake Stripe, and an HTTP client for its app."""

    kit: SaaSKit[User]
    client: httpx.AsyncClient
    fake: FakeStripe

    async def signup(self, email: str = "alice@example.com") -> dict[str, str]:
        assert (await register(self.client, email)).status_code == 201
        return bearer((await login(self.client, email))["access_token"])

    async def user(self, email: str = "alice@example.com") -> User:
        # Registration queues the Stripe customer's creation: let queued tasks finish.
        await self.kit.runner.drain()
        found = await self.kit.users.get_by_email(email)
        assert found is not None
        return found

    async def checkout(self, headers: dict[str, str], plan: str = "pro", **body: Any) -> str:
        response = await self.client.post(
            "/api/v1/billing/create-checkout-session", json={"plan": plan, **body}, headers=headers
        )
        assert response.status_code == 200, response.text
        session_id: str = response.json()["id"]
        return session_id

    async def checkout_for(
        self, headers: dict[str, str], params: dict[str, str], plan: str = "pro"
    ) -> str:
        """Checkout for the owner named in ``params`` (``{"owner": "organization:1"}``)."""
        response = await self.client.post(
            "/api/v1/billing/create-checkout-session",
            params=params,
            json={"plan": plan},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        session_id: str = response.json()["id"]
        return session_id

    async def subscribe(self, headers: dict[str, str], plan: str = "pro") -> str:
        """Checkout, pay in the fake and deliver the webhooks; returns the subscription id."""
        subscription = self.fake.complete_checkout(await self.checkout(headers, plan))
        await self.deliver()
        return str(subscription["id"])

    async def deliver(self, **options: Any) -> list[httpx.Response]:
        responses = await self.fake.deliver(self.client, **options)
        for response in responses:
            assert response.status_code == 200, response.text
        return responses

    async def status(self, headers: dict[str, str]) -> dict[str, Any]:
        response = await self.client.get("/api/v1/billing/subscription", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def rows(self, model: Any) -> list[Any]:
        async with self.kit.session_factory() as db:
            return list(await db.scalars(select(model).order_by(model.id)))

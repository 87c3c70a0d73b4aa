"""A host app's billing test on saaskit's fake Stripe (docs/billing.md, "Testing").

Copy it into your tests; ``fake_stripe`` is a pytest fixture shipped by saaskit.
"""

# --8<-- [start:test]
from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from saaskit import SaaSKitSettings
from saaskit.migrations import project_config, upgrade
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - the fixture

PLANS = {
    "free": {"quotas": {"ai_tokens": 10_000}},
    "pro": {"price": "pro_monthly", "features": ["exports"], "quotas": {"ai_tokens": 1_000_000}},
    "team": {"price": "team_monthly", "features": ["exports", "sso"], "trial_days": 14},
}


async def test_upgrade_to_pro(fake_stripe: FakeStripe, tmp_path: Path) -> None:  # noqa: F811
    from billing_app import create_app  # your app factory

    fake_stripe.add_price("pro_monthly", unit_amount=2000, product="Pro")
    settings = SaaSKitSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        billing=fake_stripe.billing_settings(plans=PLANS, default_plan="free"),  # the fake's URL
    )
    # Your project's own migrations (alembic.ini at its root), as `saaskit migrate` applies them.
    config = project_config(Path.cwd(), settings.database_url)
    assert config is not None, "run the tests from the project root (alembic.ini)"
    await asyncio.to_thread(upgrade, config)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        user = {"email": "ada@example.com", "password": "correct horse battery"}
        await client.post("/api/v1/auth/register", json=user)  # creates the Stripe customer
        login = await client.post("/api/v1/auth/login", json=user)
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert (await client.get("/quota", headers=auth)).json() == {"ai_tokens": 10_000}
        assert (await client.get("/exports", headers=auth)).status_code == 402

        checkout = await client.post(
            "/api/v1/billing/create-checkout-session", json={"plan": "pro"}, headers=auth
        )
        fake_stripe.complete_checkout(checkout.json()["id"])  # the user pays
        await fake_stripe.deliver(client)  # signed webhooks to /api/v1/billing/webhook

        assert (await client.get("/exports", headers=auth)).status_code == 200
        assert (await client.get("/quota", headers=auth)).json() == {"ai_tokens": 1_000_000}
    await app.state.kit.aclose()


# --8<-- [end:test]

"""Billing fixtures: a fake Stripe on 127.0.0.1, a kit pointed at it, a gated app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from tests.billing.helpers import Billing, add_prices, billing_settings, gated_app
from tests.helpers import KitFactory


@pytest.fixture
async def billing(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
) -> AsyncIterator[Billing]:
    add_prices(fake_stripe)
    kit = await make_kit(billing=billing_settings(fake_stripe))
    transport = httpx.ASGITransport(app=gated_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Billing(kit, client, fake_stripe)

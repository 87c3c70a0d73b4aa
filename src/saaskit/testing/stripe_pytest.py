"""A pytest fixture for the fake Stripe.

In a host app's ``conftest.py``::

    from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 (a fixture)

    async def test_checkout(fake_stripe):
        fake_stripe.add_price("pro_monthly", unit_amount=2000)
        settings = SaaSKitSettings(billing=fake_stripe.billing_settings(
            plans={"pro": {"price": "pro_monthly"}}
        ))
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from saaskit.testing.fake_stripe import FakeStripe


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    """A fresh fake Stripe server on 127.0.0.1 for one test."""
    with FakeStripe() as fake:
        yield fake

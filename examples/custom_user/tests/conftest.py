"""Acme's test settings: billing on, with the plans below, on saaskit's fake Stripe.

Fixtures such as saaskit_client and fake_stripe come from saaskit's pytest plugin; each
test gets Acme's app imported afresh on a new SQLite database with Acme's migrations.
"""

import json

import pytest

PLANS = {
    "free": {"name": "Free"},
    "pro": {"name": "Pro", "price": "pro_monthly", "features": ["team"]},
}


@pytest.fixture
def saaskit_env() -> dict[str, str]:
    """Settings of the app under test, on top of the plugin's (SQLite, memory store, ...)."""
    return {
        "SAASKIT_BILLING__ENABLED": "true",
        "SAASKIT_BILLING__PLANS": json.dumps(PLANS),
        "SAASKIT_BILLING__DEFAULT_PLAN": "free",
    }

"""The billing settings section and its production checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from saaskit.settings import STRIPE_API_VERSION, BillingSettings, SaaSKitSettings

STRONG = "a-production-secret-key-that-is-long-enough-0123456789"


def test_defaults() -> None:
    billing = BillingSettings()
    assert billing.enabled is False
    assert billing.api_base == "https://api.stripe.com"
    assert billing.api_version == STRIPE_API_VERSION
    assert billing.entitled_statuses == ["active", "trialing"]
    assert billing.webhook_tolerance_seconds == 300


def test_enabled_needs_a_secret_key() -> None:
    with pytest.raises(ValidationError, match="SAASKIT_BILLING__SECRET_KEY"):
        BillingSettings(enabled=True)


def test_default_plan_must_be_a_plan() -> None:
    with pytest.raises(ValidationError, match="default_plan"):
        BillingSettings(default_plan="free")


def test_entitled_statuses_are_stripe_statuses() -> None:
    with pytest.raises(ValidationError, match="unknown subscription statuses: paid"):
        BillingSettings(entitled_statuses=["active", "paid"])


def test_production_refuses_billing_without_webhook_secret() -> None:
    values = {
        "environment": "production",
        "secret_key": STRONG,
        "billing": {"enabled": True, "secret_key": "sk_live_x"},
    }
    with pytest.raises(ValidationError, match="SAASKIT_BILLING__WEBHOOK_SECRET"):
        SaaSKitSettings(**values)  # type: ignore[arg-type]
    values["billing"] = {"enabled": True, "secret_key": "sk_live_x", "webhook_secret": "whsec_x"}
    assert SaaSKitSettings(**values).billing.enabled  # type: ignore[arg-type]


def test_plans_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAASKIT_BILLING__ENABLED", "true")
    monkeypatch.setenv("SAASKIT_BILLING__SECRET_KEY", "sk_test_x")
    monkeypatch.setenv(
        "SAASKIT_BILLING__PLANS",
        '{"pro": {"price": "pro_monthly", "features": ["reports"],'
        ' "quotas": {"ai_tokens": 100000}, "trial_days": 7}}',
    )
    monkeypatch.setenv("SAASKIT_BILLING__ENTITLED_STATUSES", '["active", "trialing", "past_due"]')
    billing = SaaSKitSettings().billing
    assert billing.plans["pro"].price == "pro_monthly"
    assert billing.plans["pro"].quotas == {"ai_tokens": 100_000}
    assert billing.plans["pro"].trial_days == 7
    assert "past_due" in billing.entitled_statuses
    assert billing.secret_key is not None
    assert "sk_test_x" not in repr(billing)

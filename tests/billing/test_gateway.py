"""StripeGateway: the real SDK against the fake, errors mapped, secrets kept out of logs."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from saaskit.billing.gateway import StripeGateway, price_from_data, subscription_from_data
from saaskit.billing.types import CheckoutRequest
from saaskit.exceptions import BillingRejected, BillingUnavailable, MissingExtra
from saaskit.settings import BillingSettings
from saaskit.testing.fake_stripe import FakeStripe


@pytest.fixture
async def gateway(fake_stripe: FakeStripe) -> AsyncIterator[StripeGateway]:
    gateway = StripeGateway(BillingSettings(**fake_stripe.billing_settings()))
    yield gateway
    await gateway.aclose()


def test_subscription_from_an_older_api_version() -> None:
    """Before 2025-03-31 the period lived on the subscription, not on its items."""
    data: dict[str, Any] = {
        "id": "sub_1",
        "customer": {"id": "cus_1", "object": "customer"},
        "status": "active",
        "current_period_end": 1_900_000_000,
        "quantity": 3,
        "items": {"data": [{"price": {"id": "price_1", "lookup_key": None}}]},
        "cancel_at_period_end": False,
        "metadata": {"user_id": 5},
    }
    sub = subscription_from_data(data)
    assert sub.customer_id == "cus_1"
    assert sub.quantity == 3
    assert sub.current_period_end is not None
    assert int(sub.current_period_end.timestamp()) == 1_900_000_000
    assert sub.metadata == {"user_id": "5"}
    assert sub.trial_end is None


def test_price_from_data_without_recurring_or_product() -> None:
    price = price_from_data({"id": "price_1", "unit_amount": 100, "currency": "eur"})
    assert (price.interval, price.product_name, price.currency) == (None, None, "eur")


def test_secret_key_is_required() -> None:
    with pytest.raises(ValueError, match="secret_key"):
        StripeGateway(BillingSettings())


def test_missing_stripe_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "stripe" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(MissingExtra, match=r"pip install 'saaskit\[stripe\]'"):
        StripeGateway(BillingSettings(secret_key="sk_test_x"))


async def test_refused_key_is_unavailable_and_never_logged(
    fake_stripe: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk_test_this_must_not_leak_0123456789"
    settings = BillingSettings(**fake_stripe.billing_settings(secret_key=secret))
    gateway = StripeGateway(settings)
    with caplog.at_level(logging.DEBUG), pytest.raises(BillingUnavailable):
        await gateway.create_customer(
            email="a@example.com", name=None, user_id=1, idempotency_key="k"
        )
    await gateway.aclose()
    assert "check SAASKIT_BILLING__SECRET_KEY" in caplog.text
    assert secret not in caplog.text
    assert secret[-8:] not in caplog.text
    assert secret not in repr(settings)


async def test_missing_objects_are_none(gateway: StripeGateway, fake_stripe: FakeStripe) -> None:
    assert await gateway.get_subscription("sub_missing") is None
    assert await gateway.get_customer("cus_missing") is None
    assert await gateway.get_prices(["price_missing", "missing_key"]) == {}
    customer = await gateway.create_customer(
        email="a@example.com", name="A", user_id=1, idempotency_key="k"
    )
    fake_stripe.delete_customer(customer)
    deleted = await gateway.get_customer(customer)
    assert deleted is not None
    assert deleted.deleted


async def test_stripe_failures_map_to_saaskit_errors(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    fake_stripe.fail_next(429, type="rate_limit_error", code="rate_limit")
    with pytest.raises(BillingUnavailable):
        await gateway.list_subscriptions("cus_1")
    fake_stripe.fail_next(402, type="card_error", code="card_declined")
    with pytest.raises(BillingRejected):
        await gateway.create_portal_session("cus_1", "https://app.example.com")
    with pytest.raises(BillingRejected):  # a 404 is only "missing" where asked for
        await gateway.create_portal_session("cus_missing", "https://app.example.com")


async def test_cancel_subscription_at_once_and_again(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    price = fake_stripe.add_price("pro_monthly")
    customer = await gateway.create_customer(
        email="a@example.com", name=None, user_id=1, idempotency_key="c"
    )
    session = await gateway.create_checkout_session(
        CheckoutRequest(
            customer_id=customer,
            price_id=price,
            quantity=1,
            success_url="https://app.example.com/ok",
            cancel_url="https://app.example.com/no",
            user_id=1,
            plan="pro",
            trial_days=0,
        )
    )
    sub_id = fake_stripe.complete_checkout(session.id)["id"]
    fake_stripe.fail_next(503, method="DELETE")
    with pytest.raises(BillingUnavailable):
        await gateway.cancel_subscription(sub_id, idempotency_key="k")
    assert (await gateway.get_subscription(sub_id)).status == "active"  # type: ignore[union-attr]
    first = await gateway.cancel_subscription(sub_id, idempotency_key="k")
    assert first is not None
    assert first.status == "canceled"
    again = await gateway.cancel_subscription(sub_id, idempotency_key="k")  # a retry
    assert again is not None
    assert again.status == "canceled"
    assert await gateway.cancel_subscription("sub_missing", idempotency_key="k2") is None
    # A refusal for a subscription that is not canceled stays a refusal.
    fake_stripe.fail_next(400, type="invalid_request_error", code="parameter_invalid")
    with pytest.raises(BillingRejected):
        await gateway.cancel_subscription(sub_id + "x", idempotency_key="k3")

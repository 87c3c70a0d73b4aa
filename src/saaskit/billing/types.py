"""Plain data that crosses the billing boundaries: what the gateway returns, what
hooks receive and what services answer. No SQLAlchemy, no Stripe SDK objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from saaskit.owners import Owner


@dataclass(frozen=True, slots=True)
class Price:
    """A Stripe price as shown on a pricing page."""

    id: str
    lookup_key: str | None = None
    unit_amount: int | None = None
    currency: str = "usd"
    interval: str | None = None
    interval_count: int = 1
    product_name: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class RemoteSubscription:
    """A subscription as Stripe has it now (re-fetched, never taken from an event)."""

    id: str
    customer_id: str
    status: str
    price_id: str | None
    price_lookup_key: str | None
    quantity: int
    trial_end: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    ended_at: datetime | None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RemoteCustomer:
    """A Stripe customer (``deleted`` once removed in Stripe)."""

    id: str
    deleted: bool = False
    email: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """What saaskit asks Stripe Checkout for: one configured price, for one owner.

    ``user_id`` is the user owner's id (``None`` for other owners); ``owner`` defaults
    to that user.
    """

    customer_id: str
    price_id: str
    quantity: int
    success_url: str
    cancel_url: str
    user_id: int | None
    plan: str
    trial_days: int = 0
    owner: Owner | None = None

    @property
    def reference(self) -> str:
        """Checkout's ``client_reference_id``: the user id for users (as kits before
        billing owners sent it), ``kind:id`` for other owners."""
        owner = self.owner or Owner.user(self.user_id or 0)
        return str(owner.id) if owner.kind == "user" else str(owner)


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    """A user's subscription as saaskit stored it (what hooks and ``GET`` see)."""

    stripe_subscription_id: str
    stripe_customer_id: str
    user_id: int | None
    plan: str | None
    price_id: str | None
    status: str
    quantity: int
    trial_end: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    ended_at: datetime | None
    updated_from_event_at: datetime | None
    owner: Owner | None = None
    """Who the subscription bills (``None``: a customer saaskit does not know);
    ``user_id`` is set only for user owners."""


@dataclass(frozen=True, slots=True)
class PaymentFailure:
    """An invoice payment that failed (``invoice.payment_failed``)."""

    invoice_id: str
    customer_id: str
    subscription_id: str | None
    amount_due: int
    currency: str
    attempt_count: int
    next_payment_attempt: datetime | None
    hosted_invoice_url: str | None

"""Plain data that crosses the billing boundaries.

What the gateway returns, what hooks receive and what services answer. No SQLAlchemy, no Stripe SDK
objects.

``SubscriptionState`` and ``PaymentFailure`` live in :mod:`saaskit.types` (hooks use them
too); they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from saaskit.owners import Owner
from saaskit.types import PaymentFailure, SubscriptionState

__all__ = [
    "CheckoutRequest",
    "CheckoutSession",
    "PaymentFailure",
    "Price",
    "RemoteCustomer",
    "RemoteSubscription",
    "SubscriptionState",
]


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
    allow_promotion_codes: bool = False
    automatic_tax: bool = False
    tax_id_collection: bool = False
    billing_address_collection: str = "auto"

    @property
    def reference(self) -> str:
        """Checkout's ``client_reference_id`` for ``owner``.

        The user id for users (as kits before billing owners sent it), ``kind:id`` for other
        owners.
        """
        owner = self.owner or Owner.user(self.user_id or 0)
        return str(owner.id) if owner.kind == "user" else str(owner)


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    """A Checkout session Stripe created: its id and the URL to send the browser to."""

    id: str
    url: str


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One line of an invoice or a preview (a proration when ``proration``)."""

    description: str
    amount: int
    proration: bool = False


@dataclass(frozen=True, slots=True)
class ChangePreview:
    """What a plan change would cost (Stripe's invoice preview).

    ``proration_date`` is the time the prorations are computed for: pass it back to the
    change so that what is charged is what was shown.
    """

    amount_due: int
    total: int
    currency: str
    proration_date: datetime
    lines: tuple[InvoiceLine, ...] = ()


@dataclass(frozen=True, slots=True)
class Invoice:
    """A Stripe invoice of a billing owner, as a billing page lists it."""

    id: str
    number: str | None
    status: str | None
    total: int
    amount_due: int
    currency: str
    created: datetime | None
    hosted_invoice_url: str | None = None
    invoice_pdf: str | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class InvoicePage:
    """A page of invoices, newest first; ask for the next with the last one's id."""

    invoices: tuple[Invoice, ...]
    has_more: bool

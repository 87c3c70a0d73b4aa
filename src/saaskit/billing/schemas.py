"""Request and response bodies of the billing router."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from saaskit.billing.plans import UserPlan
from saaskit.billing.service import PlanOffer
from saaskit.billing.types import ChangePreview, Invoice, Price, SubscriptionState
from saaskit.text import SingleLine


class PriceRead(BaseModel):
    """A plan's Stripe price."""

    id: str
    unit_amount: int | None = Field(description="In the currency's smallest unit (cents).")
    currency: str
    interval: str | None = Field(description="`month`, `year`, ... (None: one-time).")
    interval_count: int

    @classmethod
    def of(cls, price: Price) -> PriceRead:
        """The price as the API shows it."""
        return cls(
            id=price.id,
            unit_amount=price.unit_amount,
            currency=price.currency,
            interval=price.interval,
            interval_count=price.interval_count,
        )


class PlanRead(BaseModel):
    """A plan on offer."""

    key: str
    name: str
    features: list[str]
    quotas: dict[str, int]
    trial_days: int
    price: PriceRead | None = Field(
        description="The default price; None for a free plan, or when Stripe could not be asked."
    )
    prices: list[PriceRead] = Field(
        default_factory=list,
        description="Every price of the plan, the default first (monthly, yearly, currencies).",
    )

    @classmethod
    def of(cls, offer: PlanOffer) -> PlanRead:
        """The plan as listed, with its Stripe price when it has one."""
        return cls(
            key=offer.key,
            name=offer.settings.name or offer.key,
            features=list(offer.settings.features),
            quotas=dict(offer.settings.quotas),
            trial_days=offer.settings.trial_days,
            price=None if offer.price is None else PriceRead.of(offer.price),
            prices=[PriceRead.of(price) for price in offer.prices],
        )


class CheckoutBody(BaseModel):
    """Start a Stripe Checkout for a configured plan."""

    model_config = ConfigDict(extra="forbid")

    plan: SingleLine = Field(min_length=1, max_length=64, description="A configured plan key.")
    quantity: int = Field(1, ge=1, le=10_000, description="Seats.")
    interval: Literal["day", "week", "month", "year"] | None = Field(
        None, description="Billing interval among the plan's prices (default: its `price`)."
    )
    currency: str | None = Field(
        None,
        pattern=r"^[a-zA-Z]{3}$",
        description="ISO currency code among the plan's prices (`usd`, `eur`).",
    )
    success_url: SingleLine | None = Field(
        None, max_length=2048, description="On an allowed origin; may hold {CHECKOUT_SESSION_ID}."
    )
    cancel_url: SingleLine | None = Field(
        None, max_length=2048, description="On an allowed origin."
    )


class PlanChangeBody(BaseModel):
    """Preview or make a change of plan (and of interval or currency)."""

    model_config = ConfigDict(extra="forbid")

    plan: SingleLine = Field(min_length=1, max_length=64, description="A configured plan key.")
    interval: Literal["day", "week", "month", "year"] | None = Field(
        None, description="Billing interval among the plan's prices (default: its `price`)."
    )
    currency: str | None = Field(
        None, pattern=r"^[a-zA-Z]{3}$", description="ISO currency code among the plan's prices."
    )
    proration_date: datetime | None = Field(
        None,
        description="Change only: the `proration_date` of the preview shown, so the change "
        "charges what it showed (within an hour; default: now).",
    )


class InvoiceLineRead(BaseModel):
    """One line of a preview."""

    description: str
    amount: int = Field(description="In the currency's smallest unit; negative for a credit.")
    proration: bool


class PlanChangePreview(BaseModel):
    """What a plan change would cost; pass ``proration_date`` to the change."""

    amount_due: int = Field(description="Due on the next invoice, in the smallest unit.")
    total: int
    currency: str
    proration_date: datetime
    lines: list[InvoiceLineRead]

    @classmethod
    def of(cls, preview: ChangePreview) -> PlanChangePreview:
        """The preview as the API shows it."""
        return cls(
            amount_due=preview.amount_due,
            total=preview.total,
            currency=preview.currency,
            proration_date=preview.proration_date,
            lines=[
                InvoiceLineRead(
                    description=line.description, amount=line.amount, proration=line.proration
                )
                for line in preview.lines
            ],
        )


class InvoiceRead(BaseModel):
    """An invoice of the billing owner."""

    id: str
    number: str | None
    status: str | None = Field(description="`draft`, `open`, `paid`, `uncollectible`, `void`.")
    total: int = Field(description="In the currency's smallest unit.")
    amount_due: int
    currency: str
    created: datetime | None
    hosted_invoice_url: str | None = Field(description="Stripe's page to view and pay it.")
    invoice_pdf: str | None = Field(description="A link to its PDF.")
    period_start: datetime | None
    period_end: datetime | None

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceRead:
        """The invoice as the API shows it."""
        return cls(
            id=invoice.id,
            number=invoice.number,
            status=invoice.status,
            total=invoice.total,
            amount_due=invoice.amount_due,
            currency=invoice.currency,
            created=invoice.created,
            hosted_invoice_url=invoice.hosted_invoice_url,
            invoice_pdf=invoice.invoice_pdf,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
        )


class InvoiceList(BaseModel):
    """A page of invoices, newest first."""

    data: list[InvoiceRead]
    has_more: bool
    next_cursor: str | None = Field(
        description="Pass as `starting_after` for the next page (None on the last page)."
    )


class CheckoutRead(BaseModel):
    """Redirect the browser to ``url``."""

    id: str
    url: str


class PortalRead(BaseModel):
    """``POST /billing/customer-portal``: where to send the browser."""

    url: str


class SubscriptionRead(BaseModel):
    """The stored state of a Stripe subscription."""

    id: str = Field(description="The Stripe subscription id.")
    plan: str | None
    status: str
    quantity: int
    price_id: str | None
    trial_end: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    ended_at: datetime | None

    @classmethod
    def of(cls, state: SubscriptionState) -> SubscriptionRead:
        """The subscription as the API shows it."""
        return cls(
            id=state.stripe_subscription_id,
            plan=state.plan,
            status=state.status,
            quantity=state.quantity,
            price_id=state.price_id,
            trial_end=state.trial_end,
            current_period_end=state.current_period_end,
            cancel_at_period_end=state.cancel_at_period_end,
            canceled_at=state.canceled_at,
            ended_at=state.ended_at,
        )


class BillingStatus(BaseModel):
    """The user's plan, what it grants, and the subscription behind it."""

    plan: str | None = Field(description="Plan key; the default plan's without a subscription.")
    entitled: bool = Field(description="An entitled subscription grants the plan.")
    features: list[str]
    quotas: dict[str, int]
    subscription: SubscriptionRead | None = Field(
        description="The most relevant subscription, entitled or not (e.g. `past_due`)."
    )
    plan_recognized: bool = Field(
        True,
        description=(
            "False when an entitled subscription is on a price no configured plan lists "
            "(a settings mistake: it grants only the default plan; logged as an error)."
        ),
    )

    @classmethod
    def of(cls, plan: UserPlan, latest: SubscriptionState | None) -> BillingStatus:
        """The owner's plan and its (or else the latest) subscription."""
        shown = plan.subscription or latest
        return cls(
            plan=plan.key,
            plan_recognized=plan.subscription is None or plan.subscription.plan is not None,
            entitled=plan.subscribed,
            features=sorted(plan.features),
            quotas=dict(plan.quotas),
            subscription=SubscriptionRead.of(shown) if shown else None,
        )


class WebhookReceipt(BaseModel):
    """Stripe only reads the status code; the body helps when debugging deliveries."""

    received: bool = True
    event_id: str
    type: str
    status: str = Field(description="`processed`, `queued` or `duplicate`.")

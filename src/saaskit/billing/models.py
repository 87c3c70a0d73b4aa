"""saaskit's billing tables: Stripe customers, subscriptions and received webhook events.

Customers and subscriptions belong to a billing owner (``owner_kind`` + ``owner_id``,
see :mod:`saaskit.owners`): a user today, an organization next. ``owner_id`` is not a
foreign key (it may point at either table); for user owners ``subscriptions.user_id``
still holds the id, with its ``ON DELETE SET NULL`` foreign key, and is what user
lookups read (rows written by a kit version that predates owners have only it).

They are declared on the host's metadata by :func:`saaskit.db.build_models`, next to
the user table they point to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from saaskit.db.mixins import TimestampMixin, utcnow
from saaskit.features import TableSpec

OWNER_KIND_LENGTH = 32


class BillingCustomerMixin:
    """The Stripe customer of one billing owner (at most one each, and never shared).

    Replaces ``users.stripe_customer_id``, which is still written for user owners (so
    host code reading it keeps working) but no longer read by saaskit.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_kind: Mapped[str] = mapped_column(String(OWNER_KIND_LENGTH), nullable=False)
    owner_id: Mapped[int] = mapped_column(Integer, nullable=False)
    stripe_customer_id: Mapped[str] = mapped_column(
        String(255), unique=True, index=True, nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (UniqueConstraint("owner_kind", "owner_id"),)


class SubscriptionMixin(TimestampMixin):
    """The last known state of one Stripe subscription, re-fetched from Stripe.

    ``owner_kind``/``owner_id`` say who it bills (``NULL`` for a customer saaskit does
    not know). ``user_id`` is ``ON DELETE SET NULL``: deleting an account must not erase
    the record of a subscription that may still bill in Stripe (it stays visible to
    operators and keeps being updated by webhooks until it ends).
    """

    __user_table__: ClassVar[str] = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stripe_subscription_id: Mapped[str] = mapped_column(
        String(255), unique=True, index=True, nullable=False
    )
    stripe_customer_id: Mapped[str] = mapped_column(String(255), index=True, nullable=False)
    plan: Mapped[str | None] = mapped_column(String(64), nullable=True, default=None)
    price_id: Mapped[str | None] = mapped_column(String(255), nullable=True, default=None)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    trial_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    current_period_end: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    cancel_at_period_end: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_from_event_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, default=None
    )
    # server default: rows inserted by an older kit during a rolling deploy are users'.
    owner_kind: Mapped[str | None] = mapped_column(
        String(OWNER_KIND_LENGTH), nullable=True, server_default="user"
    )
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        name = f"ix_{cls.__tablename__}_owner_kind_owner_id"  # type: ignore[attr-defined]
        return (Index(name, "owner_kind", "owner_id"),)

    @declared_attr
    def user_id(cls) -> Mapped[int | None]:
        """The user owner's id; ``NULL`` for other owners and once the user is deleted."""
        return mapped_column(
            Integer,
            ForeignKey(f"{cls.__user_table__}.id", ondelete="SET NULL"),
            nullable=True,
            index=True,
        )


class WebhookEventMixin:
    """One Stripe event as received.

    Stored before processing, so duplicates are no-ops and failures stay visible and replayable.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stripe_event_id: Mapped[str] = mapped_column(
        String(255), unique=True, index=True, nullable=False
    )
    type: Mapped[str] = mapped_column(String(128), index=True, nullable=False)
    status: Mapped[str] = mapped_column(String(16), index=True, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True, default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    event_created_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        default=utcnow,  # microseconds on SQLite too
        server_default=func.now(),
        nullable=False,
        index=True,
    )
    processed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, default=None
    )


BILLING_TABLES: tuple[TableSpec, ...] = (
    TableSpec("subscription", "Subscription", "subscriptions", SubscriptionMixin, user_table=True),
    TableSpec("webhook_event", "WebhookEvent", "webhook_events", WebhookEventMixin),
    TableSpec("billing_customer", "BillingCustomer", "billing_customers", BillingCustomerMixin),
)
"""The billing feature's tables (declared by :func:`saaskit.tables.build_models`)."""

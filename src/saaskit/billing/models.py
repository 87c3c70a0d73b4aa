"""saaskit's billing tables: Stripe subscriptions and received webhook events.

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
    Integer,
    String,
    Text,
    false,
    func,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from saaskit.db.mixins import TimestampMixin, utcnow


class SubscriptionMixin(TimestampMixin):
    """The last known state of one Stripe subscription, re-fetched from Stripe.

    ``user_id`` is ``ON DELETE SET NULL``: deleting an account must not erase the
    record of a subscription that may still bill in Stripe (it stays visible to
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

    @declared_attr
    def user_id(cls) -> Mapped[int | None]:
        return mapped_column(
            Integer,
            ForeignKey(f"{cls.__user_table__}.id", ondelete="SET NULL"),
            nullable=True,
            index=True,
        )


class WebhookEventMixin:
    """One Stripe event as received: stored before processing, so duplicates are no-ops
    and failures stay visible and replayable."""

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

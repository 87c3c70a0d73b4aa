"""The ``ai_usage`` table: tokens per billing owner, model and calendar month (UTC).

Declared on the host's metadata by :func:`saaskit.db.build_models`. It is the durable
record of usage; the store keeps a per-user monthly counter for the hot path, rebuilt
from this table when it is missing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from saaskit.features import TableSpec

MONTH_LENGTH = 7
"""Length of a month key, ``YYYY-MM``."""

DAY_LENGTH = 10
"""Length of a day key, ``YYYY-MM-DD`` (ISO 8601, UTC)."""


class TokenCountsMixin:
    """What every AI usage table counts: tokens each way and requests, and when."""

    prompt_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    requests: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    @property
    def total_tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens


class AIUsageMixin(TokenCountsMixin):
    """Tokens one owner spent on one model in one month (one row each, upserted).

    ``owner_kind``/``owner_id`` say whose quota it counts against. For a user owner
    ``user_id`` holds the same id and is what lookups read (rows written by a kit that
    predates owners have only it); it is ``ON DELETE CASCADE``: usage has no meaning
    without its user. Organization rows have no ``user_id``.
    """

    __user_table__: ClassVar[str] = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(MONTH_LENGTH), nullable=False)
    model: Mapped[str] = mapped_column(String(128), nullable=False)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        # One row per owner, month and model; (owner, month) first so that an owner's
        # month is read through the same index. Users keep their (user_id, ...) key.
        return (
            UniqueConstraint("user_id", "month", "model"),
            UniqueConstraint("owner_kind", "owner_id", "month", "model"),
        )

    # server default: rows inserted by an older kit during a rolling deploy are users'.
    owner_kind: Mapped[str | None] = mapped_column(String(32), nullable=True, server_default="user")
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)

    @declared_attr
    def user_id(cls) -> Mapped[int | None]:
        """The user owner's id (``None`` for other owners); deleting the user deletes the rows."""
        return mapped_column(
            Integer, ForeignKey(f"{cls.__user_table__}.id", ondelete="CASCADE"), nullable=True
        )


class AIDailyUsageMixin(TokenCountsMixin):
    """Tokens one owner spent on one model in one UTC day (one row each, upserted).

    Written in the same transaction as the owner's ``ai_usage`` row, one more upsert
    per call. The day is the meter's clock day when the call is charged (its commit),
    so a call reserved on the last second of a month and charged in the next counts in
    its reservation's month but on the day it was charged. Days are calendar days
    (UTC) whatever the quota window (a month or a billing period).

    ``day`` is a ``YYYY-MM-DD`` string, like ``ai_usage.month``: it sorts and compares
    as dates do, reads the same on SQLite and PostgreSQL, and is what the console's day
    labels are. One row per owner (not one per day and model for everyone): a shared
    row would be locked by every concurrent AI call on PostgreSQL.

    ``user_id`` holds a user owner's id (``ON DELETE CASCADE``, like ``ai_usage``);
    organization rows have none and stay when the organization is deleted, as its
    ``ai_usage`` rows do.
    """

    __user_table__: ClassVar[str] = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    owner_id: Mapped[int] = mapped_column(Integer, nullable=False)
    day: Mapped[str] = mapped_column(String(DAY_LENGTH), nullable=False)
    model: Mapped[str] = mapped_column(String(128), nullable=False)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        # One row per owner, day and model (an owner's days are read through it); the
        # console's "every row since day D" reads the day index.
        return (
            UniqueConstraint("owner_kind", "owner_id", "day", "model"),
            Index("ix_ai_daily_usage_day", "day"),
            # A user's deletion (the cascade) and data export read their rows by it.
            Index("ix_ai_daily_usage_user_id", "user_id"),
        )

    @declared_attr
    def user_id(cls) -> Mapped[int | None]:
        """The user owner's id (``None`` for other owners); deleting the user deletes the rows."""
        return mapped_column(
            Integer, ForeignKey(f"{cls.__user_table__}.id", ondelete="CASCADE"), nullable=True
        )


class AIMemberUsageMixin(TokenCountsMixin):
    """Tokens one member spent from a pooled owner's quota on one model in one month.

    An organization's pooled usage is in ``ai_usage`` (its ``owner_kind``/``owner_id``
    row, which the quota counts); this table splits it per member, written in the same
    transaction. Rows stay when the member leaves or is removed: the usage remains theirs.
    Deleting the user sets ``user_id`` to ``NULL`` (the organization's totals still add
    up, attributed to a deleted account).
    """

    __user_table__: ClassVar[str] = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    owner_id: Mapped[int] = mapped_column(Integer, nullable=False)
    month: Mapped[str] = mapped_column(String(MONTH_LENGTH), nullable=False)
    model: Mapped[str] = mapped_column(String(128), nullable=False)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        # One row per owner, month, member and model; an owner's month is read through it.
        # Deleting a user (ON DELETE SET NULL) finds their rows by the member index.
        return (
            UniqueConstraint("owner_kind", "owner_id", "month", "user_id", "model"),
            Index("ix_ai_member_usage_user_id", "user_id"),
        )

    @declared_attr
    def user_id(cls) -> Mapped[int | None]:
        """The member (``None`` once their account is deleted)."""
        return mapped_column(
            Integer, ForeignKey(f"{cls.__user_table__}.id", ondelete="SET NULL"), nullable=True
        )


class AIMeterOutboxMixin:
    """One AI usage record waiting to reach (or having reached) a Stripe billing meter.

    Written in the same transaction as the ``ai_usage`` row it adds to, so usage is
    never recorded without being reported, nor reported without being recorded. A
    sender (:class:`saaskit.ai.meters.MeterReporter`) sends ``pending`` rows whose
    ``next_attempt_at`` has come, each as one meter event whose ``identifier`` derives
    from the row (``saaskit-{owner_kind}-{owner_id}-{id}``): Stripe refuses a repeated
    identifier, so a row sent twice (a worker killed after Stripe answered) counts once.

    ``status``: ``pending``, ``sent``, ``failed`` (given up on, logged as an error:
    refused by Stripe, or too old to be retried safely), ``skipped`` (the owner has
    no Stripe customer).
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    owner_id: Mapped[int] = mapped_column(Integer, nullable=False)
    event_name: Mapped[str] = mapped_column(String(100), nullable=False)
    model: Mapped[str] = mapped_column(String(128), nullable=False)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    first_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(255), nullable=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        # The sender's query: pending rows whose attempt is due, oldest first.
        return (Index("ix_ai_meter_outbox_status_next", "status", "next_attempt_at"),)


AI_TABLES: tuple[TableSpec, ...] = (
    TableSpec("ai_usage", "AIUsage", "ai_usage", AIUsageMixin, user_table=True),
    TableSpec(
        "ai_member_usage", "AIMemberUsage", "ai_member_usage", AIMemberUsageMixin, user_table=True
    ),
    TableSpec("ai_meter_outbox", "AIMeterOutbox", "ai_meter_outbox", AIMeterOutboxMixin),
    TableSpec(
        "ai_daily_usage", "AIDailyUsage", "ai_daily_usage", AIDailyUsageMixin, user_table=True
    ),
)
"""The AI feature's tables (declared by :func:`saaskit.tables.build_models`)."""

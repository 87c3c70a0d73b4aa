"""Plans: what each configured plan grants, and which plan a billing owner is on.

:meth:`PlanCatalog.for_owner` (:meth:`PlanCatalog.for_user` for a user) is the one call
other features need::

    plan = await kit.plans.for_user(user.id)   # or for_owner(Owner("organization", 3))
    plan.key                    # "pro", the default plan's key, or None
    plan.quota("ai_tokens")     # the plan's limit, or None when the plan sets none
    "reports" in plan.features

A user is on the plan of their *entitled* subscription (status in
``billing.entitled_statuses``), else on ``billing.default_plan`` (if any).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.billing.models import SubscriptionMixin
from saaskit.billing.types import SubscriptionState
from saaskit.owners import Owner, as_owner
from saaskit.settings import BillingSettings, PlanSettings

# When a user has several subscriptions, the one shown is the most useful: entitled
# ones first, then by how "alive" the status is, then the newest.
_STATUS_RANK = {
    "active": 0,
    "trialing": 1,
    "past_due": 2,
    "unpaid": 3,
    "paused": 4,
    "incomplete": 5,
    "incomplete_expired": 6,
    "canceled": 7,
}


@dataclass(frozen=True, slots=True)
class UserPlan:
    """The plan a user is on and what it grants.

    Attributes:
        key: the plan key (``"pro"``), the default plan's key, or ``None`` (no plan).
        features: feature keys the plan grants.
        quotas: limits the plan grants (``{"ai_tokens": 100000}``).
        subscription: the entitled subscription granting the plan (``None`` on the
            default plan or no plan).
        max_seats: the most members an organization on the plan can have (``None``: no
            limit; ``max_seats``, or the older ``quotas.seats``).
        seat_mode: ``members`` (the quantity follows the members) or ``manual`` (seats
            are bought: the subscription's quantity is the limit).
    """

    key: str | None
    name: str | None = None
    features: frozenset[str] = frozenset()
    quotas: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    subscription: SubscriptionState | None = None
    max_seats: int | None = None
    seat_mode: str = "members"
    ai_models: frozenset[str] = frozenset()
    """AI models the plan may use (empty: every model the kit allows)."""
    ai_overage: bool = False
    """Whether AI usage past the ``ai_tokens`` quota is allowed (and billed by the meter)."""

    @property
    def seat_limit(self) -> int | None:
        """How many seats the plan gives now (``None``: no limit).

        ``max_seats``; with manual seats and a subscription, the bought quantity (never
        more than ``max_seats``).
        """
        limit = self.max_seats
        if self.seat_mode == "manual" and self.subscription is not None:
            bought = self.subscription.quantity
            limit = bought if limit is None else min(limit, bought)
        return limit

    @property
    def subscribed(self) -> bool:
        """True when an entitled subscription grants the plan."""
        return self.subscription is not None

    def quota(self, key: str) -> int | None:
        """The plan's limit for ``key``; ``None`` when the plan sets none."""
        return self.quotas.get(key)


def aware(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (SQLite hands back naive ones, stored as UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def owner_of_row(row: SubscriptionMixin) -> Owner | None:
    """The owner a stored subscription bills (rows of an older kit: by ``user_id``)."""
    if row.user_id is not None:
        return Owner.user(row.user_id)
    if row.owner_kind and row.owner_id is not None and row.owner_kind != "user":
        return Owner.parse(f"{row.owner_kind}:{row.owner_id}")
    return None


def owned_by(model: type[SubscriptionMixin], owner: Owner) -> ColumnElement[bool]:
    """The condition selecting ``owner``'s subscription rows.

    Users by ``user_id`` (its foreign key forgets deleted users, and an older kit writes only
    it), other owners by ``owner_kind``/``owner_id``.
    """
    if owner.kind == "user":
        return model.user_id == owner.id
    return (model.owner_kind == owner.kind) & (model.owner_id == owner.id)


def state_of(row: SubscriptionMixin) -> SubscriptionState:
    """The :class:`SubscriptionState` of a stored subscription row."""
    return SubscriptionState(
        stripe_subscription_id=row.stripe_subscription_id,
        stripe_customer_id=row.stripe_customer_id,
        user_id=row.user_id,
        plan=row.plan,
        price_id=row.price_id,
        status=row.status,
        quantity=row.quantity,
        trial_end=aware(row.trial_end),
        current_period_end=aware(row.current_period_end),
        cancel_at_period_end=row.cancel_at_period_end,
        canceled_at=aware(row.canceled_at),
        ended_at=aware(row.ended_at),
        updated_from_event_at=aware(row.updated_from_event_at),
        owner=owner_of_row(row),
    )


class PlanCatalog:
    """The configured plans, and the lookups gating and metering need."""

    def __init__(
        self,
        settings: BillingSettings,
        model: type[SubscriptionMixin],
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        self.settings = settings
        self.model = model
        self.session_factory = session_factory
        self.plans: Mapping[str, PlanSettings] = MappingProxyType(dict(settings.plans))

    def __contains__(self, key: object) -> bool:
        return key in self.plans

    def get(self, key: str) -> PlanSettings | None:
        """The settings of plan ``key``, ``None`` if it is not configured."""
        return self.plans.get(key)

    def paid(self) -> list[str]:
        """Keys of the plans that can be bought (those with a price)."""
        return [key for key, plan in self.plans.items() if plan.price]

    def unknown_plan_message(self) -> str:
        # The requested key is not echoed back (saaskit's errors never repeat input).
        """The error message for a plan that cannot be bought, listing those that can."""
        return (
            "No such plan can be bought; choose one of: "
            f"{', '.join(self.paid()) or 'none configured'}."
        )

    def granting(self, feature: str) -> list[str]:
        """Keys of the plans that grant ``feature``."""
        return [key for key, plan in self.plans.items() if feature in plan.features]

    def is_entitled(self, status: str) -> bool:
        """Whether a subscription in ``status`` grants its plan (``billing.entitled_statuses``)."""
        return status in self.settings.entitled_statuses

    def refs(self, key: str) -> list[str]:
        """Every price of plan ``key`` (ids or lookup keys), its default ``price`` first."""
        plan = self.plans.get(key)
        if plan is None or not plan.price:
            return []
        return list(dict.fromkeys([plan.price, *plan.prices]))

    def plan_for_price(self, price_id: str | None, lookup_key: str | None) -> str | None:
        """The plan one of whose prices is ``price_id`` or ``lookup_key`` (None if none)."""
        for key in self.plans:
            if any(ref in (price_id, lookup_key) for ref in self.refs(key)):
                return key
        return None

    def describe(self, key: str | None, subscription: SubscriptionState | None = None) -> UserPlan:
        """The :class:`UserPlan` of plan ``key`` (a plan without a key if unknown)."""
        plan = self.plans.get(key) if key else None
        if key is None or plan is None:
            return UserPlan(key=None, subscription=subscription)
        return UserPlan(
            key=key,
            name=plan.name or key,
            features=frozenset(plan.features),
            quotas=MappingProxyType(dict(plan.quotas)),
            subscription=subscription,
            max_seats=plan.seat_limit,
            seat_mode=plan.seat_mode,
            ai_models=frozenset(plan.ai_models),
            ai_overage=plan.ai_overage,
        )

    async def subscriptions(self, owner: Owner | int) -> list[SubscriptionState]:
        """The owner's subscriptions (an ``int`` is a user id), most relevant first."""
        owner = as_owner(owner)
        async with self.session_factory() as db:
            rows = await db.scalars(select(self.model).where(owned_by(self.model, owner)))
            states = [state_of(row) for row in rows]
        states.sort(
            key=lambda s: (
                not self.is_entitled(s.status),
                _STATUS_RANK.get(s.status, 9),
                -(s.current_period_end.timestamp() if s.current_period_end else 0),
            )
        )
        return states

    async def current(self, owner: Owner | int) -> SubscriptionState | None:
        """The owner's most relevant subscription (entitled first), if any."""
        if not self.settings.enabled:
            return None
        found = await self.subscriptions(owner)
        return found[0] if found else None

    async def plan_of(self, owner: Owner | int) -> str | None:
        """The key of the owner's plan (``None``: no plan); see :meth:`for_owner`."""
        return (await self.for_owner(as_owner(owner))).key

    async def for_user(self, user_id: int) -> UserPlan:
        """The plan the user ``user_id`` is on now: ``for_owner(Owner.user(user_id))``."""
        return await self.for_owner(Owner.user(user_id))

    async def for_owner(self, owner: Owner) -> UserPlan:
        """The plan ``owner`` is on now (one indexed query; none with billing off)."""
        current = await self.current(owner)
        if current is None or not self.is_entitled(current.status):
            return self.describe(self.settings.default_plan)
        if current.plan in self.plans:
            return self.describe(current.plan, current)
        # Subscribed to a price no configured plan names: subscribed, default grants.
        return self.describe(self.settings.default_plan, current)

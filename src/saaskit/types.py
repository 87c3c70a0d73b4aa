"""The shared vocabulary at the bottom of saaskit: types every feature may use.

Nothing here imports a feature, the kit or an HTTP framework, so any module can import
it without creating a cycle (the layering contract in ``pyproject.toml`` checks that):

- :data:`UserT`: the host's user model, for the generic services and routers;
- :class:`ClientInfo`: where a request came from, without Starlette (the resolver that
  builds it from a request stays in :mod:`saaskit.auth.client`);
- :class:`Page`: one page of a list, the response body of every list route;
- :class:`Owner`: who billing and AI usage belong to (a user today, an organization next);
- :class:`SubscriptionState` and :class:`PaymentFailure`: what billing hooks receive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar, get_args

from pydantic import BaseModel

from saaskit.db.mixins import UserMixin

__all__ = [
    "ClientInfo",
    "ItemT",
    "Owner",
    "OwnerKind",
    "Page",
    "PaymentFailure",
    "SubscriptionState",
    "UserT",
    "UserT_co",
    "UserT_contra",
]

UserT = TypeVar("UserT", bound=UserMixin)
"""The host's user model (a subclass of :class:`~saaskit.db.UserMixin`)."""

UserT_co = TypeVar("UserT_co", bound=UserMixin, covariant=True)
"""The user model in protocols that only hand a user out (dependencies, principals)."""

UserT_contra = TypeVar("UserT_contra", bound=UserMixin, contravariant=True)
"""The user model in protocols that only take a user in."""

ItemT = TypeVar("ItemT")


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request came from (``None`` outside HTTP, e.g. the CLI).

    ``impersonator_id`` is the superuser acting as the signed-in user when the request
    carries an impersonation token: the audit log records it with every event, so each
    event made during an impersonation names both people.
    """

    ip: str | None = None
    user_agent: str | None = None
    impersonator_id: int | None = None


class Page(BaseModel, Generic[ItemT]):
    """One page of a list."""

    items: list[ItemT]
    total: int
    limit: int
    offset: int


OwnerKind = Literal["user", "organization"]
"""What can own a subscription or AI usage."""


@dataclass(frozen=True, slots=True)
class Owner:
    """Who a subscription, a Stripe customer or AI usage belongs to.

    Args:
        kind: ``"user"`` today; ``"organization"`` once organizations exist.
        id: the primary key of the owning row.
    """

    kind: OwnerKind
    id: int

    @classmethod
    def user(cls, user_id: int) -> Owner:
        """The owner that is the user ``user_id``."""
        return cls("user", user_id)

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        """``"organization:3"`` → ``Owner("organization", 3)``; ``None`` if malformed."""
        kind, _, number = text.partition(":")
        if kind not in get_args(OwnerKind) or not number.isascii() or not number.isdigit():
            return None
        value = int(number)
        if not 0 < value < 2**63:
            return None
        return cls(kind, value)  # type: ignore[arg-type]  # checked against OwnerKind

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


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

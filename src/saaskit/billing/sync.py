"""Local subscription state, always re-fetched from Stripe.

Events only say *which* subscription changed; its state is read from Stripe and stored
under a per-subscription lock. So the order events arrive in does not matter, duplicates
change nothing, and a user back from Checkout can sync before any webhook arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Generic

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from saaskit.billing.customers import CustomerManager
from saaskit.billing.gateway import BillingGateway
from saaskit.billing.locks import store_lock
from saaskit.billing.plans import PlanCatalog, aware, state_of
from saaskit.billing.types import RemoteSubscription, SubscriptionState
from saaskit.hooks import Hooks
from saaskit.owners import Owner
from saaskit.store import Store
from saaskit.types import UserT
from saaskit.users.service import UserService

logger = logging.getLogger("saaskit.billing")

# Fields whose change is worth an on_subscription_changed hook.
_MATERIAL = (
    "owner",
    "user_id",
    "plan",
    "price_id",
    "status",
    "quantity",
    "trial_end",
    "current_period_end",
    "cancel_at_period_end",
    "canceled_at",
    "ended_at",
)


def _material(state: SubscriptionState | None) -> tuple[object, ...] | None:
    return None if state is None else tuple(getattr(state, name) for name in _MATERIAL)


def owner_hint(metadata: Mapping[str, str]) -> Owner | None:
    """The owner our own checkout metadata names.

    ``owner_kind``/``owner_id``, or the ``user_id`` of kits before billing owners.
    """
    kind, number = metadata.get("owner_kind"), metadata.get("owner_id")
    if kind and number:
        return Owner.parse(f"{kind}:{number}")
    return Owner.parse(f"user:{metadata.get('user_id') or ''}")


class SubscriptionSync(Generic[UserT]):
    """Writes Stripe's current subscription state to the ``subscriptions`` table."""

    def __init__(
        self,
        catalog: PlanCatalog,
        gateway: BillingGateway,
        customers: CustomerManager[UserT],
        users: UserService[UserT],
        store: Store,
        hooks: Hooks[UserT],
    ) -> None:
        self.catalog = catalog
        self.model = catalog.model
        self.gateway = gateway
        self.customers = customers
        self.users = users
        self.store = store
        self.hooks = hooks

    async def subscription(
        self,
        subscription_id: str,
        *,
        event_at: datetime | None = None,
        user_hint: int | None = None,
        owner_hint: Owner | None = None,
    ) -> SubscriptionState | None:
        """Re-fetch one subscription and store it (``None`` if Stripe has none).

        ``owner_hint`` (``user_hint``: a user id) names the owner when the customer is
        not linked to one yet (a checkout's reference).
        """
        if owner_hint is None and user_hint is not None:
            owner_hint = Owner.user(user_hint)
        async with store_lock(self.store, f"billing:subscription-lock:{subscription_id}"):
            remote = await self.gateway.get_subscription(subscription_id)
            if remote is None:
                logger.warning("stripe subscription %s no longer exists", subscription_id)
                return None
            state, changed = await self._apply(remote, event_at=event_at, hint=owner_hint)
        if changed:  # hooks run outside the lock: a slow hook must not hold up syncing
            await self._notify(state)
        return state

    async def customer(
        self, customer_id: str, *, event_at: datetime | None = None
    ) -> list[SubscriptionState]:
        """Re-fetch every subscription of a customer and store them."""
        states = []
        for remote in await self.gateway.list_subscriptions(customer_id):
            async with store_lock(self.store, f"billing:subscription-lock:{remote.id}"):
                # Re-read inside the lock: the listing may be older than another writer.
                fresh = await self.gateway.get_subscription(remote.id) or remote
                state, changed = await self._apply(fresh, event_at=event_at)
            if changed:
                await self._notify(state)
            states.append(state)
        return states

    async def customer_deleted(self, customer_id: str, *, event_at: datetime | None) -> None:
        """A customer is gone in Stripe: settle its subscriptions and unlink its user."""
        customer = await self.gateway.get_customer(customer_id)
        if customer is not None and not customer.deleted:
            logger.info("stripe customer %s still exists; customer.deleted ignored", customer_id)
            return
        async with self.users.session_factory() as db:
            ids = list(
                await db.scalars(
                    select(self.model.stripe_subscription_id).where(
                        self.model.stripe_customer_id == customer_id,
                        self.model.ended_at.is_(None),
                    )
                )
            )
        for subscription_id in ids:
            state = await self.subscription(subscription_id, event_at=event_at)
            if state is None or state.ended_at is None:
                await self._end_locally(subscription_id, event_at)
        await self.customers.forget(customer_id)

    async def _end_locally(self, subscription_id: str, event_at: datetime | None) -> None:
        async with self.users.session_factory() as db:
            row = await db.scalar(
                select(self.model).where(self.model.stripe_subscription_id == subscription_id)
            )
            if row is None:
                return
            now = datetime.now(UTC)
            row.status, row.ended_at = "canceled", row.ended_at or now
            row.canceled_at = row.canceled_at or now
            await db.commit()

    async def _owner_for(self, remote: RemoteSubscription, hint: Owner | None) -> Owner | None:
        """The owner of a subscription: by customer id, else by our own metadata.

        An owner that does not exist (any more) is none.
        """
        found = await self.customers.owner_of(remote.customer_id)
        if found is not None:
            return found
        candidate = hint or owner_hint(remote.metadata)
        if candidate is None or not await self.customers.owners.exists(candidate):
            return None
        return candidate

    async def _apply(
        self,
        remote: RemoteSubscription,
        *,
        event_at: datetime | None,
        hint: Owner | None = None,
    ) -> tuple[SubscriptionState, bool]:
        """Store ``remote``; returns the stored state and whether it changed."""
        plan = self.catalog.plan_for_price(remote.price_id, remote.price_lookup_key)
        if plan is None and remote.price_id and self.catalog.is_entitled(remote.status):
            # Never a silent downgrade: the status shows `plan_recognized: false` too.
            logger.error(
                "subscription %s is %s on price %s (lookup key %s), which no configured plan "
                "lists in `price` or `prices`: it grants only the default plan",
                remote.id,
                remote.status,
                remote.price_id,
                remote.price_lookup_key,
            )
        owner = await self._owner_for(remote, hint)
        values: dict[str, Any] = {
            "stripe_customer_id": remote.customer_id,
            "plan": plan,
            "price_id": remote.price_id,
            "status": remote.status,
            "quantity": remote.quantity,
            "trial_end": remote.trial_end,
            "current_period_end": remote.current_period_end,
            "cancel_at_period_end": remote.cancel_at_period_end,
            "canceled_at": remote.canceled_at,
            "ended_at": remote.ended_at,
        }
        for attempt in range(2):
            try:
                before, after = await self._write(remote.id, values, owner, event_at)
                break
            except IntegrityError:
                # Another process inserted the row first (no shared lock without Redis).
                if attempt:
                    raise
        changed = _material(before) != _material(after)
        if changed:
            logger.info(
                "subscription %s of %s: %s (%s)",
                remote.id,
                after.owner or "no known owner",
                after.status,
                after.plan,
            )
        return after, changed

    async def _notify(self, state: SubscriptionState) -> None:
        # The hook takes a user: other owners' changes are for their own feature's hooks.
        if state.user_id is None:
            return
        user = await self.users.get(state.user_id)
        if user is not None:
            await self.hooks.emit_event("subscription_changed", user, state)

    async def _write(
        self,
        subscription_id: str,
        values: dict[str, Any],
        owner: Owner | None,
        event_at: datetime | None,
    ) -> tuple[SubscriptionState | None, SubscriptionState]:
        async with self.users.session_factory() as db:
            row = await db.scalar(
                select(self.model).where(self.model.stripe_subscription_id == subscription_id)
            )
            before = state_of(row) if row is not None else None
            if row is None:
                new: dict[str, Any] = {"stripe_subscription_id": subscription_id}
                row = self.model(**new)
                db.add(row)
            for name, value in values.items():
                setattr(row, name, value)
            if owner is not None:  # a known owner is never unset by a later, blind sync
                row.owner_kind, row.owner_id = owner.kind, owner.id
                row.user_id = owner.id if owner.kind == "user" else None
            elif row.owner_id is None and row.user_id is None:
                row.owner_kind = None
            previous = aware(row.updated_from_event_at)
            if event_at is not None and (previous is None or previous < event_at):
                row.updated_from_event_at = event_at
            await db.commit()
            return before, state_of(row)

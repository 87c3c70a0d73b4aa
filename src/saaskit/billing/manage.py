"""In-app subscription management: preview and change the plan, cancel and resume, invoices.

Every action is for a billing owner the caller was authorized for (the router's
``billing_owner`` dependency). The subscription acted on is the owner's current one, read
from the local table; what Stripe answers is stored at once (the webhook that follows
finds it up to date), so the next request sees the change.

A change is shown before it is made: :meth:`SubscriptionManager.preview` asks Stripe for
the invoice the change would make, computed as of a ``proration_date``; the client passes
that date back to :meth:`SubscriptionManager.change`, so what is charged is what was shown
(Stripe's own advice for previews), as long as the preview is recent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Generic

from saaskit.billing.customers import CustomerManager
from saaskit.billing.gateway import BillingGateway
from saaskit.billing.plans import PlanCatalog
from saaskit.billing.prices import PriceBook
from saaskit.billing.sync import SubscriptionSync
from saaskit.billing.types import ChangePreview, InvoicePage, SubscriptionState
from saaskit.exceptions import NoSubscription, PreviewExpired
from saaskit.owners import Owner
from saaskit.settings import BillingSettings
from saaskit.types import UserT

CHANGEABLE = frozenset({"active", "trialing", "past_due"})
"""Statuses whose plan can be changed, canceled or resumed in the app."""

PREVIEW_MAX_AGE = 3600
"""Seconds a preview's ``proration_date`` stays valid for the change that follows."""


class SubscriptionManager(Generic[UserT]):
    """Plan changes, cancel/resume and invoices for one billing owner at a time."""

    def __init__(
        self,
        settings: BillingSettings,
        *,
        catalog: PlanCatalog,
        prices: PriceBook,
        customers: CustomerManager[UserT],
        sync: SubscriptionSync[UserT],
        gateway: BillingGateway,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.prices = prices
        self.customers = customers
        self.sync = sync
        self.gateway = gateway
        self.clock = clock

    async def current(self, owner: Owner) -> SubscriptionState:
        """The owner's subscription that can be changed.

        Raises:
            NoSubscription: the owner has none in an active, trialing or past-due state.
        """
        for state in await self.catalog.subscriptions(owner):
            if state.status in CHANGEABLE:
                return state
        raise NoSubscription()

    async def preview(
        self,
        owner: Owner,
        plan: str,
        *,
        interval: str | None = None,
        currency: str | None = None,
    ) -> ChangePreview:
        """What moving to ``plan`` (at that interval and currency) would cost now.

        Raises:
            NoSubscription: nothing to change.
            UnknownPlan: no such plan, or no price of it matches.
        """
        state = await self.current(owner)
        price_id = await self.prices.price_id(plan, interval=interval, currency=currency)
        return await self.gateway.preview_price_change(
            state.stripe_subscription_id,
            price_id,
            proration_date=int(self.clock()),
            proration_behavior=self.settings.proration_behavior,
        )

    async def change(
        self,
        owner: Owner,
        plan: str,
        *,
        interval: str | None = None,
        currency: str | None = None,
        proration_date: datetime | None = None,
    ) -> SubscriptionState:
        """Move the owner's subscription to ``plan``; prorated as of ``proration_date``.

        ``proration_date`` is the one a preview returned (now when omitted). Moving to
        the price the subscription already has changes nothing.

        Raises:
            NoSubscription: nothing to change.
            UnknownPlan: no such plan, or no price of it matches.
            PreviewExpired: ``proration_date`` is in the future or over an hour old.
        """
        state = await self.current(owner)
        price_id = await self.prices.price_id(plan, interval=interval, currency=currency)
        if price_id == state.price_id:
            return state
        now = int(self.clock())
        at = now if proration_date is None else int(proration_date.timestamp())
        if not now - PREVIEW_MAX_AGE <= at <= now:
            raise PreviewExpired()
        remote = await self.gateway.change_price(
            state.stripe_subscription_id,
            price_id,
            proration_date=at,
            proration_behavior=self.settings.proration_behavior,
            metadata={"plan": plan},
        )
        stored = await self.sync.subscription(remote.id)
        return stored or state

    async def cancel(self, owner: Owner) -> SubscriptionState:
        """Cancel at the end of the paid period: the plan is kept until then.

        Raises:
            NoSubscription: nothing to cancel.
        """
        return await self._cancel_at_period_end(owner, True)

    async def resume(self, owner: Owner) -> SubscriptionState:
        """Undo :meth:`cancel` while the period has not ended.

        Raises:
            NoSubscription: nothing to resume.
        """
        return await self._cancel_at_period_end(owner, False)

    async def _cancel_at_period_end(self, owner: Owner, cancel: bool) -> SubscriptionState:
        state = await self.current(owner)
        if state.cancel_at_period_end == cancel:
            return state
        remote = await self.gateway.set_cancel_at_period_end(state.stripe_subscription_id, cancel)
        stored = await self.sync.subscription(remote.id)
        return stored or state

    async def invoices(
        self, owner: Owner, *, limit: int = 10, starting_after: str | None = None
    ) -> InvoicePage:
        """A page of the owner's invoices, newest first (none without a customer)."""
        customer_id = await self.customers.customer_id(owner)
        if customer_id is None:
            return InvoicePage(invoices=(), has_more=False)
        return await self.gateway.list_invoices(
            customer_id, limit=limit, starting_after=starting_after
        )


__all__ = ["CHANGEABLE", "PREVIEW_MAX_AGE", "SubscriptionManager"]

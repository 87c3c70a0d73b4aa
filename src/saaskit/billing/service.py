"""Billing rules: plans on offer, checkout, customer portal and eager sync. No HTTP here.

Every action is for a billing owner (:class:`~saaskit.owners.Owner`; a bare ``int`` is
a user id). The service trusts the owner it is given: callers that take an owner from a
client authorize it first (:meth:`BillingService.owner_for`, as the router does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic

from sqlalchemy import delete, update

from saaskit.billing.customers import CustomerManager
from saaskit.billing.gateway import BillingGateway
from saaskit.billing.manage import SubscriptionManager
from saaskit.billing.owners import OwnerRegistry
from saaskit.billing.plans import PlanCatalog, UserPlan, owned_by
from saaskit.billing.prices import PriceBook
from saaskit.billing.sync import SubscriptionSync
from saaskit.billing.types import CheckoutRequest, CheckoutSession, Price
from saaskit.billing.webhooks import HANDLED, WebhookProcessor
from saaskit.exceptions import AlreadySubscribed, RedirectNotAllowed, UnknownPlan
from saaskit.owners import Owner, as_owner
from saaskit.ratelimit import RateLimiter, RateLimitRule
from saaskit.settings import BillingSettings, PlanSettings, RateLimitSettings
from saaskit.store import Store
from saaskit.types import UserT
from saaskit.urls import origin_of

# Statuses that mean the user already pays (or should): a second checkout would
# create a second subscription, so they manage it in the portal instead. `incomplete`
# (a first payment still awaited, 3-D Secure say) grants nothing but blocks a second
# checkout too: paying both would make two subscriptions.
LIVE_STATUSES = frozenset({"active", "trialing", "past_due", "unpaid", "paused", "incomplete"})
CANCELABLE_STATUSES = LIVE_STATUSES
"""Statuses of a subscription that still bills, or may once its first payment succeeds."""
SYNC_LIMIT = RateLimitSettings().billing_sync.limit
"""Deprecated: the default of ``rate_limit.billing_sync`` (eager syncs per owner a minute)."""


@dataclass(frozen=True, slots=True)
class PlanOffer:
    """A configured plan with its Stripe price (``None`` when free or unknown)."""

    key: str
    settings: PlanSettings
    price: Price | None
    prices: tuple[Price, ...] = ()
    """Every known price of the plan (default first): monthly, yearly, currencies."""


RECONCILE_OVERLAP = timedelta(hours=1)
EVENT_RETENTION = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    """What a reconcile read from Stripe and did."""

    since: datetime
    read: int
    processed: int
    known: int
    failed: int


class BillingService(Generic[UserT]):
    """Checkout, portal and sync for one billing owner at a time; usable outside HTTP."""

    def __init__(
        self,
        settings: BillingSettings,
        *,
        frontend_url: str,
        catalog: PlanCatalog,
        gateway: BillingGateway,
        prices: PriceBook,
        customers: CustomerManager[UserT],
        sync: SubscriptionSync[UserT],
        webhooks: WebhookProcessor[UserT],
        store: Store,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.gateway = gateway
        self.prices = prices
        self.customers = customers
        self.sync = sync
        self.webhooks = webhooks
        self.store = store
        self.limiter = limiter or RateLimiter(store, RateLimitSettings())
        self.owners: OwnerRegistry = customers.owners
        self.subscriptions: SubscriptionManager[UserT] = SubscriptionManager(
            settings,
            catalog=catalog,
            prices=prices,
            customers=customers,
            sync=sync,
            gateway=gateway,
        )
        """Plan changes with a preview, cancel/resume and invoices (:mod:`.manage`)."""
        frontend = frontend_url.rstrip("/")
        self.success_url = (
            settings.success_url or f"{frontend}/billing/success?session_id={{CHECKOUT_SESSION_ID}}"
        )
        self.cancel_url = settings.cancel_url or f"{frontend}/billing"
        self.portal_return_url = settings.portal_return_url or f"{frontend}/billing"
        configured = [frontend, self.success_url, self.cancel_url, self.portal_return_url]
        self.allowed_origins = {
            origin
            for origin in map(origin_of, [*settings.allowed_redirect_origins, *configured])
            if origin
        }

    def redirect(self, url: str | None, default: str) -> str:
        """``url`` if its origin is allowed (``default`` when absent)."""
        if url is None:
            return default
        if origin_of(url) not in self.allowed_origins:
            raise RedirectNotAllowed(
                "This redirect URL is not on an allowed origin "
                "(settings: billing.allowed_redirect_origins)."
            )
        return url

    async def offers(self) -> list[PlanOffer]:
        """Every configured plan, with prices from Stripe (cached)."""
        every = await self.prices.all_for_plans()
        offers = []
        for key, plan in self.catalog.plans.items():
            prices = every.get(key, [])
            default = self.prices.default_of(key, prices) if prices else None
            offers.append(PlanOffer(key=key, settings=plan, price=default, prices=tuple(prices)))
        return offers

    async def owner_for(self, user: object, requested: Owner | None) -> Owner:
        """The owner ``user`` acts for: itself, or ``requested`` if it may manage it.

        Raises:
            BillingOwnerNotFound: ``requested`` is unknown or not ``user``'s to manage.
        """
        if requested is None:
            return Owner.user(getattr(user, "id"))  # noqa: B009 - any user model
        return await self.owners.authorize(user, requested)

    async def checkout(
        self,
        owner: Owner | int,
        plan: str,
        *,
        quantity: int = 1,
        success_url: str | None = None,
        cancel_url: str | None = None,
        interval: str | None = None,
        currency: str | None = None,
    ) -> CheckoutSession:
        """A Stripe Checkout session for ``plan``; nothing is written when it is refused.

        ``interval`` (``"month"``, ``"year"``...) and ``currency`` choose among the plan's
        prices (:meth:`PriceBook.price_id`); without them, the plan's ``price``.

        Raises:
            UnknownPlan: ``plan`` is not a configured plan with a price, or none of its
                prices matches ``interval`` and ``currency``.
            RedirectNotAllowed: a URL is on a foreign origin.
            AlreadySubscribed: the owner already has a live subscription.
        """
        owner = as_owner(owner)
        settings = self.catalog.get(plan)
        if settings is None or not settings.price:
            raise UnknownPlan(self.catalog.unknown_plan_message())
        success = self.redirect(success_url, self.success_url)
        cancel = self.redirect(cancel_url, self.cancel_url)
        known = await self.catalog.subscriptions(owner)
        if any(s.status in LIVE_STATUSES for s in known):
            raise AlreadySubscribed()
        price_id = await self.prices.price_id(plan, interval=interval, currency=currency)
        customer_id = await self.customers.ensure(owner)
        # Stripe may know of a subscription no webhook has told us about yet.
        fresh = await self.sync.customer(customer_id)
        if any(s.status in LIVE_STATUSES for s in fresh):
            raise AlreadySubscribed()
        quantity = await self.owners.checkout_quantity(owner, settings, quantity)
        trial = settings.trial_days
        if self.settings.trial_once and (known or fresh):
            trial = 0
        return await self.gateway.create_checkout_session(
            CheckoutRequest(
                customer_id=customer_id,
                price_id=price_id,
                quantity=quantity,
                success_url=success,
                cancel_url=cancel,
                user_id=owner.id if owner.kind == "user" else None,
                plan=plan,
                trial_days=trial,
                owner=owner,
                allow_promotion_codes=self.settings.allow_promotion_codes,
                automatic_tax=self.settings.automatic_tax,
                tax_id_collection=self.settings.tax_id_collection,
                billing_address_collection=self.settings.billing_address_collection,
            )
        )

    async def portal(self, owner: Owner | int) -> str:
        """A customer-portal URL (the customer is created if it does not exist yet)."""
        customer_id = await self.customers.ensure(as_owner(owner))
        return await self.gateway.create_portal_session(customer_id, self.portal_return_url)

    async def reconcile(
        self, since: datetime | None = None, *, max_events: int = 10_000
    ) -> ReconcileResult:
        """Apply the events Stripe has that no webhook delivered (``saaskit billing reconcile``).

        Reads Stripe's events created after ``since`` (default: an hour before the newest
        event stored, for the events of the same seconds; the last 30 days, Stripe's
        retention, when none is stored) and handles each like a delivery: stored once,
        processed unless done. Safe to run at any time and as often as wanted; a second
        run finds everything done.
        """
        if since is None:
            last = await self.webhooks.last_seen()
            since = (last - RECONCILE_OVERLAP) if last else datetime.now(UTC) - EVENT_RETENTION
        events = await self.gateway.list_events(
            created_after=int(since.timestamp()), types=sorted(HANDLED), max_events=max_events
        )
        processed, known, failed = await self.webhooks.reconcile(events)
        return ReconcileResult(
            since=since, read=len(events), processed=processed, known=known, failed=failed
        )

    async def sync_user(self, user_id: int) -> UserPlan:
        """``sync_owner(Owner.user(user_id))``."""
        return await self.sync_owner(Owner.user(user_id))

    async def sync_owner(self, owner: Owner) -> UserPlan:
        """Re-read the owner's subscriptions from Stripe now (after Checkout's redirect).

        Raises:
            RateLimited: more than ``rate_limit.billing_sync`` syncs for the owner in its
                window (10 a minute by default).
        """
        await self.limiter.hit(RateLimitRule.BILLING_SYNC, str(owner))
        customer_id = await self.customers.customer_id(owner)
        if customer_id:
            await self.sync.customer(customer_id)
        return await self.catalog.for_owner(owner)

    async def cancel_all(self, owner: Owner) -> list[str]:
        """Cancel every subscription of ``owner`` that still bills, at once.

        Expires the owner's open Checkout sessions first (none can start a subscription
        afterwards) and asks Stripe too (a subscription whose webhook has not arrived yet
        is canceled as well), then stores the canceled state. Safe to call again after a failure:
        a subscription canceled by an earlier attempt is not canceled twice, and it is
        still reported when the local record had not heard of its end yet.

        Returns:
            The ids of the subscriptions that were billing and are now canceled.

        Raises:
            BillingUnavailable: Stripe could not be reached; call again.
            BillingRejected: Stripe refused to cancel one.
            NotImplementedError: the gateway cannot cancel subscriptions.
        """
        local = {
            s.stripe_subscription_id
            for s in await self.catalog.subscriptions(owner)
            if s.status in CANCELABLE_STATUSES and s.ended_at is None
        }
        remote: set[str] = set()
        customer_id = await self.customers.customer_id(owner)
        if customer_id:
            # First, so that no open Checkout can start a subscription after the listing.
            expire: Any = getattr(self.gateway, "expire_open_checkouts", None)
            if expire is not None:
                await expire(customer_id)
            remote = {
                s.id
                for s in await self.gateway.list_subscriptions(customer_id)
                if s.status in CANCELABLE_STATUSES
            }
        targets = sorted(local | remote)
        cancel: Any = getattr(self.gateway, "cancel_subscription", None)
        if targets and cancel is None:
            raise NotImplementedError("the billing gateway cannot cancel subscriptions")
        canceled: list[str] = []
        for subscription_id in targets:
            key = f"saaskit-cancel-{subscription_id}"
            ended = await cancel(subscription_id, idempotency_key=key)
            if ended is not None:
                canceled.append(subscription_id)
                await self.sync.subscription(subscription_id)
        return canceled

    async def forget_owner(self, owner: Owner) -> None:
        """After ``owner`` was deleted: drop its customer link, detach its subscriptions.

        A later owner given the same id (SQLite reuses ids) never inherits either. The
        customer and its subscriptions stay in Stripe (their metadata still names the
        owner), and ``subscriptions`` keeps their record without an owner.
        """
        customers, model = self.customers.model, self.catalog.model
        async with self.customers.session_factory() as db, db.begin():
            await db.execute(
                delete(customers).where(
                    customers.owner_kind == owner.kind, customers.owner_id == owner.id
                )
            )
            if owner.kind != "user":  # a user's rows are detached by their foreign key
                await db.execute(
                    update(model)
                    .where(owned_by(model, owner))
                    .values(owner_kind=None, owner_id=None)
                )

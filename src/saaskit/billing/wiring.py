"""Builds the billing services of a kit.

:class:`BillingFeature` is one of the kit's own features: :class:`~saaskit.SaaSKit`
builds it when ``billing.enabled``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.billing.customers import CREATE_TASK, PUSH_CUSTOMER_EMAIL, CustomerManager
from saaskit.billing.gateway import BillingGateway, StripeGateway
from saaskit.billing.models import BILLING_TABLES, BillingCustomerMixin, WebhookEventMixin
from saaskit.billing.notices import SEND_NOTICE, BillingNotices
from saaskit.billing.owners import OwnerRegistry, UserOwners
from saaskit.billing.plans import PlanCatalog
from saaskit.billing.prices import PriceBook
from saaskit.billing.service import BillingService
from saaskit.billing.sync import SubscriptionSync
from saaskit.billing.webhooks import PROCESS_TASK, WebhookProcessor, key_mode
from saaskit.email.mailer import Mailer
from saaskit.exceptions import (
    AlreadySubscribed,
    BillingOwnerNotFound,
    BillingRejected,
    BillingUnavailable,
    FeatureNotInPlan,
    InvalidWebhook,
    InvalidWebhookSignature,
    PlanRequired,
    RedirectNotAllowed,
    SubscriptionRequired,
    UnknownPlan,
    WebhookFailed,
)
from saaskit.features import Feature, FeatureHost
from saaskit.hooks import Hooks
from saaskit.ratelimit import RateLimiter
from saaskit.settings import SaaSKitSettings
from saaskit.store import Store
from saaskit.tasks.runner import TaskFunction, TaskRunner
from saaskit.types import UserT
from saaskit.users.service import UserService

if TYPE_CHECKING:
    from fastapi import APIRouter


class BillingModels(Protocol):
    """The billing tables of the kit's models (:class:`saaskit.tables.KitModels`)."""

    @property
    def webhook_event(self) -> type[WebhookEventMixin]:
        """The mapped table of received Stripe events (deduplicated, replayable)."""
        ...

    @property
    def billing_customer(self) -> type[BillingCustomerMixin]:
        """The mapped table linking each billing owner to its Stripe customer."""
        ...


class BillingKit(Protocol[UserT]):
    """What the billing services are built from (:class:`saaskit.SaaSKit` has it)."""

    @property
    def settings(self) -> SaaSKitSettings:
        """The ``billing`` section, and ``email.frontend_url`` for redirects."""
        ...

    @property
    def models(self) -> BillingModels:
        """Where the billing tables are found."""
        ...

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        """Sessions on the primary database, for customers and webhook events."""
        ...

    @property
    def store(self) -> Store:
        """Holds the per-owner locks, the price cache and the rate limits."""
        ...

    @property
    def users(self) -> UserService[UserT]:
        """The ``"user"`` billing owners and their Stripe customer ids."""
        ...

    @property
    def plans(self) -> PlanCatalog:
        """The configured plans and each owner's subscription."""
        ...

    @property
    def hooks(self) -> Hooks[UserT]:
        """Emits subscription and payment events; listens to registration and deletion."""
        ...

    @property
    def runner(self) -> TaskRunner:
        """Queues customer creation and (``webhook_processing="background"``) events."""
        ...

    @property
    def tasks(self) -> dict[str, TaskFunction]:
        """The kit's task table; billing adds its tasks to it."""
        ...

    @property
    def mailer(self) -> Mailer:
        """Sends the lifecycle emails (``billing.lifecycle_emails``)."""
        ...


def build_billing(kit: BillingKit[UserT], gateway: BillingGateway | None) -> BillingService[UserT]:
    """Build the billing service on ``kit``'s store, users and hooks.

    Registers the ``"user"`` billing owner kind, the ``billing.process_event`` and
    ``billing.create_customer`` tasks, and two kit listeners (apart from the host's
    hooks): after registration, queue the Stripe customer's creation (when
    ``billing.create_customer_on_register``; registration never waits for Stripe), and
    after a user's deletion, drop their customer link.

    Args:
        kit: what the service is built from; gets the tasks and listeners.
        gateway: the payment provider (default: Stripe, from ``billing`` settings).

    Returns:
        The service (``kit.billing``).
    """
    settings = kit.settings.billing
    gateway = gateway or StripeGateway(settings)
    owners = OwnerRegistry()
    owners.register("user", UserOwners(kit.users))
    customers = CustomerManager(
        kit.users,
        gateway,
        kit.store,
        model=kit.models.billing_customer,
        owners=owners,
        session_factory=kit.session_factory,
        runner=kit.runner,
    )
    sync = SubscriptionSync(kit.plans, gateway, customers, kit.users, kit.store, kit.hooks)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    webhooks = WebhookProcessor(
        kit.models.webhook_event,
        kit.session_factory,
        sync,
        kit.store,
        kit.hooks,
        secret=secret,
        tolerance=settings.webhook_tolerance_seconds,
        runner=kit.runner if settings.webhook_processing == "background" else None,
        livemode=key_mode(
            settings.secret_key.get_secret_value() if settings.secret_key is not None else None
        ),
    )
    service = BillingService(
        settings,
        frontend_url=kit.settings.email.frontend_url,
        catalog=kit.plans,
        gateway=gateway,
        prices=PriceBook(kit.plans, gateway, kit.store, settings.price_cache_seconds),
        customers=customers,
        sync=sync,
        webhooks=webhooks,
        store=kit.store,
        limiter=RateLimiter(kit.store, kit.settings.rate_limit),
    )
    if settings.create_customer_on_register:
        kit.hooks.listen("after_register", customers.on_register)
    kit.hooks.listen("after_delete", customers.on_user_deleted)
    kit.hooks.listen("after_update", customers.on_user_updated)
    kit.tasks[PROCESS_TASK] = webhooks.process_task
    kit.tasks[CREATE_TASK] = customers.create_task
    kit.tasks[PUSH_CUSTOMER_EMAIL.name] = customers.push_email_task
    if settings.lifecycle_emails:
        notices = BillingNotices(kit.mailer, kit.runner)
        notices.install(kit.hooks)
        kit.tasks[SEND_NOTICE.name] = SEND_NOTICE.handler(notices.send)
    return service


class BillingFeature(Feature[BillingService[Any]]):
    """Stripe billing: built with the kit when ``billing.enabled`` (``kit.billing``).

    Args:
        gateway: the payment provider (default: Stripe, from the settings).
    """

    name = "billing"
    prefix = "/billing"
    tags = ("billing",)
    tables = BILLING_TABLES
    errors = (
        SubscriptionRequired,
        PlanRequired,
        FeatureNotInPlan,
        UnknownPlan,
        RedirectNotAllowed,
        AlreadySubscribed,
        BillingUnavailable,
        BillingRejected,
        BillingOwnerNotFound,
        InvalidWebhookSignature,
        InvalidWebhook,
        WebhookFailed,
    )

    def __init__(self, gateway: BillingGateway | None = None) -> None:
        self.gateway = gateway

    def enabled(self, settings: SaaSKitSettings) -> bool:
        """``SAASKIT_BILLING__ENABLED``."""
        return settings.billing.enabled

    def build(self, kit: FeatureHost) -> BillingService[Any]:
        """The billing service (see :func:`build_billing`)."""
        return build_billing(cast("BillingKit[Any]", kit), self.gateway)

    def router(self, kit: FeatureHost, service: BillingService[Any] | None) -> APIRouter:
        """Plans, checkout, portal, subscription, sync, webhook."""
        from saaskit.billing.router import build_billing_router

        return build_billing_router(cast(Any, kit))

    async def aclose(self, service: BillingService[Any]) -> None:
        """Close the gateway's HTTP client."""
        await service.gateway.aclose()

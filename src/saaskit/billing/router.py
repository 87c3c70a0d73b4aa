"""The billing router: plans, checkout, portal, subscription, sync and the webhook.

Owner-scoped routes act for the signed-in user, or for the owner named by the optional
``owner`` query parameter (``organization:3``) once the owner's kind says the user may
manage it; anything else is 404, whether the owner exists or not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from fastapi import APIRouter, Depends, Query, Request, status

from saaskit.billing.plans import PlanCatalog
from saaskit.billing.schemas import (
    BillingStatus,
    CheckoutBody,
    CheckoutRead,
    InvoiceList,
    InvoiceRead,
    PlanChangeBody,
    PlanChangePreview,
    PlanRead,
    PortalRead,
    WebhookReceipt,
)
from saaskit.billing.service import BillingService
from saaskit.cache import ResponseCache
from saaskit.errors import error_responses
from saaskit.exceptions import BillingOwnerNotFound
from saaskit.openapi import declares_errors
from saaskit.owners import Owner
from saaskit.routing import body_limits, new_router
from saaskit.settings import SaaSKitSettings
from saaskit.types import UserT


class BillingRouterKit(Protocol[UserT]):
    """What the billing router needs of the kit (:class:`saaskit.SaaSKit` has it)."""

    @property
    def settings(self) -> SaaSKitSettings: ...

    @property
    def billing(self) -> BillingService[UserT]: ...

    @property
    def plans(self) -> PlanCatalog: ...

    @property
    def current_active_user(self) -> Callable[..., Awaitable[UserT]]: ...

    @property
    def current_session_user(self) -> Callable[..., Awaitable[UserT]]: ...

    @property
    def dependencies(self) -> Any:
        """The kit's :class:`~saaskit.auth.dependencies.AuthDependencies`."""
        ...

    @property
    def cache(self) -> ResponseCache: ...


def build_billing_router(kit: BillingRouterKit[UserT]) -> APIRouter:
    """Routes under ``{api_prefix}/billing`` (billing must be enabled)."""
    router = new_router(body_limits(kit.settings.http))
    billing = kit.billing
    current_active_user = kit.current_active_user
    # The plan list is the same for everyone: cached in the store (kit.cache), under a
    # name that changes with the plan settings, so a deploy that edits plans never
    # serves the old list; invalidate with kit.cache.invalidate(kit.cache.shared()).
    plans_cache_name = "billing:plans:" + _fingerprint(kit.settings.billing.plans)
    paid = {key for key, plan in kit.settings.billing.plans.items() if plan.price}

    def priced(offers: list[PlanRead]) -> bool:
        # A Stripe outage leaves prices out: such a list is answered, never cached.
        return all(offer.price is not None for offer in offers if offer.key in paid)

    async def status_of(owner: Owner) -> BillingStatus:
        plan = await kit.plans.for_owner(owner)
        return BillingStatus.of(plan, await kit.plans.current(owner))

    async def resolve_owner(user: UserT, owner: str | None) -> Owner:
        requested = None
        if owner is not None:
            requested = Owner.parse(owner)
            if requested is None:
                raise BillingOwnerNotFound()
        return await billing.owner_for(user, requested)

    # Changes (checkout, portal, sync) need the owner's own login session (no API key, no
    # impersonation); reading the subscription works with an API key too.
    owner_user = kit.dependencies.current_owner_user

    @declares_errors(401, 403, 404)
    async def billing_owner(
        owner: str | None = Query(
            None,
            max_length=64,
            description="Act for this billing owner (`organization:3`) instead of yourself; "
            "404 unless you may manage its billing; 403 `org_mfa_required` when the "
            "organization requires 2FA and you have it off.",
        ),
        user: UserT = Depends(owner_user),
    ) -> Owner:
        return await resolve_owner(user, owner)

    @declares_errors(401, 403, 404)
    async def reading_owner(
        owner: str | None = Query(
            None,
            max_length=64,
            description="Act for this billing owner (`organization:3`) instead of yourself; "
            "404 unless you may manage its billing; 403 `org_mfa_required` when the "
            "organization requires 2FA and you have it off.",
        ),
        user: UserT = Depends(current_active_user),
    ) -> Owner:
        return await resolve_owner(user, owner)

    @router.get(
        "/plans",
        name="billing:plans",
        response_model=list[PlanRead],
        status_code=status.HTTP_200_OK,
    )
    async def plans() -> Any:
        async def build() -> list[PlanRead]:
            return [PlanRead.of(offer) for offer in await billing.offers()]

        ttl = kit.settings.billing.price_cache_seconds
        if ttl == 0:
            return await build()
        return await kit.cache.get_or_build(
            kit.cache.shared(), plans_cache_name, build, ttl=ttl, cacheable=priced
        )

    @router.post(
        "/create-checkout-session",
        name="billing:checkout",
        response_model=CheckoutRead,
        status_code=status.HTTP_200_OK,
        responses=error_responses(400, 401, 404, 409, 422, 502, 503),
    )
    async def create_checkout_session(
        body: CheckoutBody, owner: Owner = Depends(billing_owner)
    ) -> Any:
        session = await billing.checkout(
            owner,
            body.plan,
            quantity=body.quantity,
            success_url=body.success_url,
            cancel_url=body.cancel_url,
            interval=body.interval,
            currency=_lower(body.currency),
        )
        return CheckoutRead(id=session.id, url=session.url)

    @router.get(
        "/customer-portal",
        name="billing:portal",
        response_model=PortalRead,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 404, 502, 503),
    )
    async def customer_portal(owner: Owner = Depends(billing_owner)) -> Any:
        return PortalRead(url=await billing.portal(owner))

    @router.get(
        "/subscription",
        name="billing:subscription",
        response_model=BillingStatus,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 404),
    )
    async def subscription(owner: Owner = Depends(reading_owner)) -> Any:
        return await status_of(owner)

    @router.post(
        "/subscription/preview",
        name="billing:preview_change",
        response_model=PlanChangePreview,
        status_code=status.HTTP_200_OK,
        responses=error_responses(400, 401, 404, 409, 422, 502, 503),
    )
    async def preview_change(body: PlanChangeBody, owner: Owner = Depends(billing_owner)) -> Any:
        """What changing to ``plan`` would cost now (Stripe's invoice preview); changes nothing."""
        preview = await billing.subscriptions.preview(
            owner, body.plan, interval=body.interval, currency=_lower(body.currency)
        )
        return PlanChangePreview.of(preview)

    @router.post(
        "/subscription/change",
        name="billing:change_plan",
        response_model=BillingStatus,
        status_code=status.HTTP_200_OK,
        responses=error_responses(400, 401, 404, 409, 422, 502, 503),
    )
    async def change_plan(body: PlanChangeBody, owner: Owner = Depends(billing_owner)) -> Any:
        """Move the subscription to ``plan``, prorated as of the preview's ``proration_date``.

        409 `no_subscription` without a subscription to change (use checkout), 409
        `preview_expired` for a ``proration_date`` over an hour old or in the future.
        """
        await billing.subscriptions.change(
            owner,
            body.plan,
            interval=body.interval,
            currency=_lower(body.currency),
            proration_date=body.proration_date,
        )
        return await status_of(owner)

    @router.post(
        "/subscription/cancel",
        name="billing:cancel",
        response_model=BillingStatus,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 404, 409, 502, 503),
    )
    async def cancel(owner: Owner = Depends(billing_owner)) -> Any:
        """Cancel at the end of the paid period; the plan is kept until then."""
        await billing.subscriptions.cancel(owner)
        return await status_of(owner)

    @router.post(
        "/subscription/resume",
        name="billing:resume",
        response_model=BillingStatus,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 404, 409, 502, 503),
    )
    async def resume(owner: Owner = Depends(billing_owner)) -> Any:
        """Undo a cancellation at period end, while the period runs."""
        await billing.subscriptions.resume(owner)
        return await status_of(owner)

    @router.get(
        "/invoices",
        name="billing:invoices",
        response_model=InvoiceList,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 404, 422, 502, 503),
    )
    async def invoices(
        owner: Owner = Depends(reading_owner),
        limit: int = Query(10, ge=1, le=100, description="Invoices per page."),
        starting_after: str | None = Query(
            None,
            pattern=r"^in_[A-Za-z0-9]{1,64}$",
            description="The `next_cursor` of the previous page.",
        ),
    ) -> Any:
        """The owner's invoices, newest first (none before the first checkout)."""
        page = await billing.subscriptions.invoices(
            owner, limit=limit, starting_after=starting_after
        )
        data = [InvoiceRead.of(invoice) for invoice in page.invoices]
        return InvoiceList(
            data=data, has_more=page.has_more, next_cursor=data[-1].id if page.has_more else None
        )

    @router.post(
        "/sync",
        name="billing:sync",
        response_model=BillingStatus,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 404, 429, 502, 503),
    )
    async def sync(owner: Owner = Depends(billing_owner)) -> Any:
        await billing.sync_owner(owner)
        return await status_of(owner)

    @router.post(
        "/webhook",
        name="billing:webhook",
        response_model=WebhookReceipt,
        status_code=status.HTTP_200_OK,
        responses=error_responses(400, 500, 503),
        include_in_schema=True,
    )
    async def webhook(request: Request) -> Any:
        # The signature covers the exact bytes Stripe sent: read them before any parsing.
        body = await request.body()
        receipt = await billing.webhooks.receive(body, request.headers.get("stripe-signature"))
        return WebhookReceipt(event_id=receipt.event_id, type=receipt.type, status=receipt.status)

    return router


def _lower(currency: str | None) -> str | None:
    return currency.lower() if currency else None


def _fingerprint(plans: Any) -> str:
    text = json.dumps({k: v.model_dump(mode="json") for k, v in plans.items()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]

"""The billing router: plans, checkout, portal, subscription, sync and the webhook."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from fastapi import APIRouter, Depends, Request, status

from saaskit.billing.plans import PlanCatalog
from saaskit.billing.schemas import (
    BillingStatus,
    CheckoutBody,
    CheckoutRead,
    PlanRead,
    PortalRead,
    WebhookReceipt,
)
from saaskit.billing.service import BillingService
from saaskit.errors import error_responses
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


def build_billing_router(kit: BillingRouterKit[UserT]) -> APIRouter:
    """Routes under ``{api_prefix}/billing`` (billing must be enabled)."""
    router = new_router(body_limits(kit.settings.http))
    billing = kit.billing
    current_active_user = kit.current_active_user

    async def status_of(user_id: int) -> BillingStatus:
        plan = await kit.plans.for_user(user_id)
        return BillingStatus.of(plan, await kit.plans.current(user_id))

    @router.get(
        "/plans",
        name="billing:plans",
        response_model=list[PlanRead],
        status_code=status.HTTP_200_OK,
    )
    async def plans() -> Any:
        return [PlanRead.of(offer) for offer in await billing.offers()]

    @router.post(
        "/create-checkout-session",
        name="billing:checkout",
        response_model=CheckoutRead,
        status_code=status.HTTP_200_OK,
        responses=error_responses(400, 401, 409, 422, 502, 503),
    )
    async def create_checkout_session(
        body: CheckoutBody, user: UserT = Depends(current_active_user)
    ) -> Any:
        session = await billing.checkout(
            user.id,
            body.plan,
            quantity=body.quantity,
            success_url=body.success_url,
            cancel_url=body.cancel_url,
        )
        return CheckoutRead(id=session.id, url=session.url)

    @router.get(
        "/customer-portal",
        name="billing:portal",
        response_model=PortalRead,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 502, 503),
    )
    async def customer_portal(user: UserT = Depends(current_active_user)) -> Any:
        return PortalRead(url=await billing.portal(user.id))

    @router.get(
        "/subscription",
        name="billing:subscription",
        response_model=BillingStatus,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401),
    )
    async def subscription(user: UserT = Depends(current_active_user)) -> Any:
        return await status_of(user.id)

    @router.post(
        "/sync",
        name="billing:sync",
        response_model=BillingStatus,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 429, 502, 503),
    )
    async def sync(user: UserT = Depends(current_active_user)) -> Any:
        await billing.sync_user(user.id)
        return await status_of(user.id)

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

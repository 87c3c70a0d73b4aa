"""A host app with paid plans: gated routes, billing hooks and quotas (docs/billing.md)."""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.billing.plans import UserPlan
from saaskit.billing.types import PaymentFailure, SubscriptionState
from saaskit.models import User

logger = logging.getLogger("myapp.billing")


def create_app(settings: SaaSKitSettings | None = None) -> FastAPI:
    """The app; settings default to the environment (``SAASKIT_BILLING__*``)."""
    # --8<-- [start:kit]
    kit = SaaSKit(settings or SaaSKitSettings())
    app = FastAPI(lifespan=kit.lifespan)
    kit.install(app)  # with billing enabled, mounts /api/v1/billing
    # --8<-- [end:kit]
    app.state.kit = kit

    # --8<-- [start:gating]
    @app.get("/reports")
    async def reports(plan: UserPlan = Depends(kit.require_plan("pro", "team"))) -> dict[str, str]:
        # 402 subscription_required without a subscription, 403 plan_required on "basic"
        return {"plan": plan.key or ""}

    @app.get("/exports")
    async def exports(plan: UserPlan = Depends(kit.require_feature("exports"))) -> list[str]:
        # 402 / 403 feature_not_in_plan; the error's `plans` lists the plans with "exports"
        return []

    @app.get("/support")
    async def support(plan: UserPlan = Depends(kit.require_active_subscription())) -> str:
        return "Thanks for subscribing!"

    @app.get("/quota")
    async def quota(user: User = Depends(kit.current_active_user)) -> dict[str, int | None]:
        plan = await kit.plans.for_user(user.id)  # the default plan without a subscription
        return {"ai_tokens": plan.quota("ai_tokens")}

    # --8<-- [end:gating]

    # --8<-- [start:hooks]
    @kit.hooks.on_subscription_changed
    async def subscription_changed(user: User, subscription: SubscriptionState) -> None:
        logger.info("%s is now %s on %s", user.email, subscription.status, subscription.plan)

    @kit.hooks.on_payment_failed
    async def payment_failed(user: User, failure: PaymentFailure) -> None:
        logger.warning("payment of %s failed: %s", user.email, failure.hosted_invoice_url)

    @kit.hooks.on_trial_will_end
    async def trial_will_end(user: User, subscription: SubscriptionState) -> None:
        logger.info("trial of %s ends at %s", user.email, subscription.trial_end)

    # --8<-- [end:hooks]
    return app

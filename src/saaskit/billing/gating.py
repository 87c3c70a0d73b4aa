"""Dependencies that gate routes on the user's plan.

    @app.get("/reports")
    async def reports(plan: UserPlan = Depends(kit.require_plan("pro", "team"))): ...

For another billing owner (an organization), build the gates on a dependency that
answers with the (already authorized) owner::

    org_gates = kit.gates.for_owner(current_org_owner)
    @app.get("/orgs/{org_id}/reports")
    async def org_reports(plan: UserPlan = Depends(org_gates.require_plan("team"))): ...

Each dependency answers with the owner's :class:`~saaskit.billing.plans.UserPlan`, or
fails with an error whose ``plans`` list says what to buy: 402
``subscription_required`` when the user has no entitled subscription, 403
``plan_required`` / ``feature_not_in_plan`` when their plan is not enough.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic

from fastapi import Depends

from saaskit.billing.plans import PlanCatalog, UserPlan
from saaskit.exceptions import FeatureNotInPlan, PlanRequired, SubscriptionRequired
from saaskit.openapi import declares_errors
from saaskit.owners import Owner
from saaskit.types import UserT

PlanDependency = Callable[..., Awaitable[UserPlan]]


def _either(keys: list[str]) -> str:
    return " or ".join(keys) if keys else "(no plan configured)"


class PlanGates(Generic[UserT]):
    """Builds the ``require_*`` dependencies on a plan catalog."""

    def __init__(
        self,
        catalog: PlanCatalog,
        current_active_user: Callable[..., Awaitable[UserT]],
        owner: Callable[..., Awaitable[Owner]] | None = None,
    ) -> None:
        self.catalog = catalog
        self.current_active_user = current_active_user
        self.owner = owner  # None: the signed-in user is the owner

    def for_owner(self, owner: Callable[..., Awaitable[Owner]]) -> PlanGates[UserT]:
        """Gates on the plan of the owner ``owner`` (a FastAPI dependency) answers with.

        The dependency must authorize the owner for the caller (as ``current_org`` does
        for an organization); the gates only read its plan.
        """
        return PlanGates(self.catalog, self.current_active_user, owner)

    def _check_known(self, keys: list[str]) -> None:
        # A typo in a plan key would lock everyone out; say so at import time. With no
        # plans configured (billing not set up in development) every check simply fails.
        unknown = [key for key in keys if self.catalog.plans and key not in self.catalog]
        if unknown:
            raise ValueError(
                f"unknown plan(s) {', '.join(unknown)}; configured: {', '.join(self.catalog.plans)}"
            )

    def _user_plan(self) -> Callable[..., Awaitable[UserPlan]]:
        current_active_user = self.current_active_user
        catalog = self.catalog
        if self.owner is not None:
            owner_dependency = self.owner

            async def owner_plan(owner: Owner = Depends(owner_dependency)) -> UserPlan:
                return await catalog.for_owner(owner)

            return owner_plan

        async def user_plan(user: Any = Depends(current_active_user)) -> UserPlan:
            return await catalog.for_user(user.id)

        return user_plan

    def require_active_subscription(self) -> PlanDependency:
        """Any entitled subscription (402 ``subscription_required`` otherwise)."""
        user_plan = self._user_plan()
        catalog = self.catalog

        async def require_active_subscription(plan: UserPlan = Depends(user_plan)) -> UserPlan:
            if not plan.subscribed:
                options = catalog.paid()
                raise SubscriptionRequired(
                    options,
                    f"An active subscription is required; subscribe to {_either(options)}.",
                )
            return plan

        return declares_errors(402)(require_active_subscription)

    def require_plan(self, *keys: str) -> PlanDependency:
        """One of the plans ``keys`` (the default plan counts when it is one of them)."""
        if not keys:
            raise ValueError("require_plan() needs at least one plan key")
        wanted = list(keys)
        self._check_known(wanted)
        user_plan = self._user_plan()

        async def require_plan(plan: UserPlan = Depends(user_plan)) -> UserPlan:
            if plan.key in wanted:
                return plan
            needed = f"This requires the {_either(wanted)} plan"
            if not plan.subscribed:
                raise SubscriptionRequired(wanted, f"{needed}; subscribe to it.")
            raise PlanRequired(wanted, f"{needed}; your plan is {plan.key or 'not one of them'}.")

        return declares_errors(402, 403)(require_plan)

    def require_feature(self, feature: str) -> PlanDependency:
        """A plan that grants ``feature`` (see ``PlanSettings.features``)."""
        granting = self.catalog.granting(feature)
        if self.catalog.plans and not granting:
            raise ValueError(f"no configured plan grants the feature {feature!r}")
        user_plan = self._user_plan()

        async def require_feature(plan: UserPlan = Depends(user_plan)) -> UserPlan:
            if feature in plan.features:
                return plan
            needed = f"The {feature!r} feature needs the {_either(granting)} plan"
            if not plan.subscribed:
                raise SubscriptionRequired(granting, f"{needed}; subscribe to it.")
            raise FeatureNotInPlan(granting, f"{needed}; your plan is {plan.key or 'none'}.")

        return declares_errors(402, 403)(require_feature)

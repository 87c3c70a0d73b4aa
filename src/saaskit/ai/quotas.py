"""Who may spend how many AI tokens per month.

Before every call the AI service asks for the monthly token allowance of the call's
billing owner (``None`` for unlimited). A resolver answers either per owner
(:class:`OwnerQuotaResolver`, ``owner_tokens(owner)``) or, as before owners, per user
(:class:`QuotaResolver`, ``monthly_tokens(user_id)``; it then serves user owners only).

The kit uses :class:`PlanQuota` when billing can tell an owner's plan, else
:class:`DefaultQuota`; :class:`QuotasByKind` gives each kind of owner its own resolver
(a pooled organization quota next to per-user ones). Pass your own to ``SaaSKit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from saaskit.owners import Owner

AI_TOKENS_QUOTA = "ai_tokens"
"""The key of a plan's ``quotas`` that holds its monthly AI tokens."""


@runtime_checkable
class QuotaResolver(Protocol):
    """The monthly AI token allowance of a user (the pre-owner protocol)."""

    async def monthly_tokens(self, user_id: int) -> int | None:
        """Tokens ``user_id`` may use this calendar month (UTC); ``None``: unlimited."""
        ...


@runtime_checkable
class OwnerQuotaResolver(Protocol):
    """The monthly AI token allowance of a billing owner."""

    async def owner_tokens(self, owner: Owner) -> int | None:
        """Tokens ``owner`` may use this calendar month (UTC); ``None``: unlimited."""
        ...


async def owner_tokens(resolver: QuotaResolver | OwnerQuotaResolver, owner: Owner) -> int | None:
    """Ask ``resolver`` for ``owner``'s allowance, whichever protocol it speaks.

    Raises:
        TypeError: a per-user resolver was asked about another kind of owner.
    """
    if isinstance(resolver, OwnerQuotaResolver):
        return await resolver.owner_tokens(owner)
    if owner.kind != "user":
        raise TypeError(
            f"{type(resolver).__name__} only knows users; give the kit an "
            f"OwnerQuotaResolver (or QuotasByKind) for {owner.kind} owners"
        )
    return await resolver.monthly_tokens(owner.id)


class DefaultQuota:
    """The same allowance for everyone (``ai.default_monthly_tokens``)."""

    def __init__(self, tokens: int | None) -> None:
        self.tokens = tokens

    async def monthly_tokens(self, user_id: int) -> int | None:
        """The same allowance for every user."""
        return self.tokens

    async def owner_tokens(self, owner: Owner) -> int | None:
        """The same allowance for every owner."""
        return self.tokens


class Plan(Protocol):
    """What :class:`PlanQuota` needs of a plan (:class:`saaskit.billing.plans.UserPlan`)."""

    def quota(self, key: str, /) -> int | None:
        """The plan's quota named ``key`` (``None``: the plan sets none)."""
        ...


class PlanLookup(Protocol):
    """Finds a user's plan (:class:`saaskit.billing.plans.PlanCatalog`, ``kit.plans``)."""

    async def for_user(self, user_id: int, /) -> Plan:
        """The plan of the user ``user_id`` (a plan without a key when on none)."""
        ...


@runtime_checkable
class OwnerPlanLookup(Protocol):
    """Finds any owner's plan (``kit.plans`` has ``for_owner``)."""

    async def for_owner(self, owner: Owner, /) -> Plan:
        """The plan of ``owner`` (a plan without a key when on none)."""
        ...


class PlanQuota:
    """The allowance of the owner's plan: its ``quotas["ai_tokens"]``.

    Owners on no plan, or on a plan without an ``ai_tokens`` quota, get ``default``.
    With ``subscribed_only``, so do owners on the default plan (no entitled
    subscription): pooled organization quotas use it, so that creating organizations
    does not multiply the default plan's free tokens.

    Example:
        ```python
        quota = PlanQuota(kit.plans, default=10_000)
        await quota.monthly_tokens(user.id)  # 100_000 on a plan with that quota
        await quota.owner_tokens(Owner("organization", 3))  # the organization's plan
        ```
    """

    def __init__(
        self, plans: PlanLookup, default: int | None, *, subscribed_only: bool = False
    ) -> None:
        self.plans = plans
        self.default = default
        self.subscribed_only = subscribed_only

    async def monthly_tokens(self, user_id: int) -> int | None:
        """The ``ai_tokens`` quota of the user's plan, else ``default``."""
        return await self.owner_tokens(Owner.user(user_id))

    async def owner_tokens(self, owner: Owner) -> int | None:
        """The ``ai_tokens`` quota of the owner's plan, else ``default``."""
        if owner.kind == "user":
            plan = await self.plans.for_user(owner.id)
        elif isinstance(self.plans, OwnerPlanLookup):
            plan = await self.plans.for_owner(owner)
        else:
            return self.default
        if self.subscribed_only and not getattr(plan, "subscribed", True):
            return self.default
        tokens = plan.quota(AI_TOKENS_QUOTA)
        return self.default if tokens is None else tokens


class QuotasByKind:
    """One quota resolver per kind of owner.

    For example, pooled organization quotas::

        QuotasByKind({"user": PlanQuota(kit.plans, 10_000), "organization": OrgPool(...)})

    An owner of a kind not listed gets ``default`` (``0`` unless given: no AI).
    """

    def __init__(
        self,
        resolvers: Mapping[str, QuotaResolver | OwnerQuotaResolver],
        *,
        default: int | None = 0,
    ) -> None:
        self.resolvers = dict(resolvers)
        self.default = default

    async def monthly_tokens(self, user_id: int) -> int | None:
        """The allowance of the user ``user_id``, from the ``user`` resolver."""
        return await self.owner_tokens(Owner.user(user_id))

    async def owner_tokens(self, owner: Owner) -> int | None:
        """The allowance from the resolver of ``owner``'s kind, else ``default``."""
        resolver = self.resolvers.get(owner.kind)
        return self.default if resolver is None else await owner_tokens(resolver, owner)


class SubscriptionPeriods:
    """The end of each owner's current billing period, from the plans (``kit.plans``).

    What :attr:`saaskit.ai.metering.UsageMeter.period_end` calls with
    ``ai.quota_period = "billing_period"``: the entitled subscription's
    ``current_period_end`` as last synced from Stripe; ``None`` (the calendar month)
    for an owner without one.
    """

    def __init__(self, plans: PlanLookup) -> None:
        self.plans = plans

    async def __call__(self, owner: Owner) -> datetime | None:
        """``owner``'s current period end, or ``None``."""
        if owner.kind == "user":
            plan = await self.plans.for_user(owner.id)
        elif isinstance(self.plans, OwnerPlanLookup):
            plan = await self.plans.for_owner(owner)
        else:
            return None
        # saaskit's plans carry their subscription (UserPlan.subscription); others may not
        subscription = getattr(plan, "subscription", None)
        end = getattr(subscription, "current_period_end", None)
        return end if isinstance(end, datetime) else None

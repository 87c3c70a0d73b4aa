"""Who may spend how many AI tokens per month.

A :class:`QuotaResolver` answers one question before every call: the user's monthly
token allowance (``None`` for unlimited). The kit uses :class:`PlanQuota` when billing
can tell a user's plan, else :class:`DefaultQuota`; pass your own to ``SaaSKit`` for
anything else (per-organization pools, admin overrides, ...).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

AI_TOKENS_QUOTA = "ai_tokens"
"""The key of a plan's ``quotas`` that holds its monthly AI tokens."""


@runtime_checkable
class QuotaResolver(Protocol):
    """The monthly AI token allowance of a user."""

    async def monthly_tokens(self, user_id: int) -> int | None:
        """Tokens ``user_id`` may use this calendar month (UTC); ``None``: unlimited."""
        ...


class DefaultQuota:
    """The same allowance for everyone (``ai.default_monthly_tokens``)."""

    def __init__(self, tokens: int | None) -> None:
        self.tokens = tokens

    async def monthly_tokens(self, user_id: int) -> int | None:
        return self.tokens


class Plan(Protocol):
    """What :class:`PlanQuota` needs of a plan (:class:`saaskit.billing.plans.UserPlan`)."""

    def quota(self, key: str, /) -> int | None: ...


class PlanLookup(Protocol):
    """Finds a user's plan (:class:`saaskit.billing.plans.PlanCatalog`, ``kit.plans``)."""

    async def for_user(self, user_id: int, /) -> Plan: ...


class PlanQuota:
    """The allowance of the user's plan: its ``quotas["ai_tokens"]``.

    Users on no plan, or on a plan without an ``ai_tokens`` quota, get ``default``.

    Example:
        ```python
        quota = PlanQuota(kit.plans, default=10_000)
        await quota.monthly_tokens(user.id)  # 100_000 on a plan with that quota
        ```
    """

    def __init__(self, plans: PlanLookup, default: int | None) -> None:
        self.plans = plans
        self.default = default

    async def monthly_tokens(self, user_id: int) -> int | None:
        plan = await self.plans.for_user(user_id)
        tokens = plan.quota(AI_TOKENS_QUOTA)
        return self.default if tokens is None else tokens

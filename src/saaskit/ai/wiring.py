"""Builds a kit's AI service (``SaaSKit.ai``) and picks its quotas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.ai.metering import UsageMeter
from saaskit.ai.meters import FLUSH_METERS, FlushMeters
from saaskit.ai.models import (
    AI_TABLES,
    AIDailyUsageMixin,
    AIMemberUsageMixin,
    AIMeterOutboxMixin,
    AIUsageMixin,
)
from saaskit.ai.pool import ORGANIZATION
from saaskit.ai.quotas import (
    AI_TOKENS_QUOTA,
    DefaultQuota,
    OwnerQuotaResolver,
    PlanLookup,
    PlanQuota,
    QuotaResolver,
    QuotasByKind,
    SubscriptionPeriods,
)
from saaskit.ai.service import AIService
from saaskit.db.replicas import ReadRouter
from saaskit.exceptions import (
    AIModelNotAllowed,
    AIModelNotInPlan,
    AINotConfigured,
    AIQuotaExceeded,
    AIUpstreamError,
    AIUpstreamRateLimited,
    AIUpstreamTimeout,
)
from saaskit.features import Feature, FeatureHost
from saaskit.settings import SaaSKitSettings
from saaskit.store import Store
from saaskit.tasks.typed import enqueue

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI


class AIModels(Protocol):
    """The AI table of the kit's models (:class:`saaskit.tables.KitModels`)."""

    @property
    def ai_usage(self) -> type[AIUsageMixin]:
        """The mapped usage table: tokens per owner, model and month."""
        ...

    @property
    def tables(self) -> Mapping[str, type[Any]]:
        """Every table by key (``ai_member_usage``, ``ai_daily_usage``)."""
        ...


class AIKit(Protocol):
    """What the AI service is built from (:class:`saaskit.SaaSKit` has it)."""

    @property
    def settings(self) -> SaaSKitSettings:
        """The ``ai`` section configures the service, ``billing.plans`` the quotas."""
        ...

    @property
    def models(self) -> AIModels:
        """Where the usage table is found."""
        ...

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        """Sessions on the primary database, for the usage writes."""
        ...

    @property
    def store(self) -> Store:
        """Holds each owner's monthly token counter (calls in flight included)."""
        ...

    @property
    def plans(self) -> PlanLookup:
        """Each user's plan, for the plan quotas (:class:`PlanQuota`)."""
        ...

    @property
    def reads(self) -> ReadRouter:
        """Runs the usage reports on a replica when one is configured."""
        ...


def build_ai_service(
    kit: AIKit, quotas: QuotaResolver | OwnerQuotaResolver | None = None
) -> AIService:
    """Build the kit's :class:`AIService` on its database, store and ``ai`` settings.

    Args:
        kit: what the service is built from.
        quotas: each owner's monthly tokens (default: :func:`default_quotas`).

    Returns:
        The service (``kit.ai``).
    """
    members = cast(type[AIMemberUsageMixin] | None, kit.models.tables.get("ai_member_usage"))
    outbox = cast(type[AIMeterOutboxMixin] | None, kit.models.tables.get("ai_meter_outbox"))
    daily = cast(type[AIDailyUsageMixin] | None, kit.models.tables.get("ai_daily_usage"))
    ai = kit.settings.ai
    meter = UsageMeter(
        kit.models.ai_usage,
        kit.session_factory,
        kit.store,
        reads=kit.reads,
        members=members,
        outbox=outbox,
        meter_event_name=ai.meter_event_name,
        weights=ai.model_weights,
        daily=daily,
    )
    if ai.quota_period == "billing_period":
        meter.period_end = SubscriptionPeriods(kit.plans)
    tasks = getattr(kit, "tasks", {})
    runner = getattr(kit, "runner", None)
    if meter.outbox is not None and runner is not None:

        async def flush_soon() -> None:
            if FLUSH_METERS.name in tasks:  # billing is on
                await enqueue(runner, FLUSH_METERS, FlushMeters())

        meter.on_metered = flush_soon
    plans = kit.settings.billing.plans.values()
    by_plan = any(plan.ai_models or plan.ai_overage for plan in plans)
    return AIService(
        kit.settings.ai,
        meter,
        quotas or default_quotas(kit),
        plans=kit.plans if by_plan else None,
    )


def default_quotas(kit: AIKit) -> OwnerQuotaResolver:
    """Pick the default monthly token quotas.

    When some plan sets an ``ai_tokens`` quota, each user gets their plan's
    (``kit.plans``); else everyone gets ``ai.default_monthly_tokens``, with no plan
    lookup per call. With ``ai.pooled_org_quota`` organizations get the ``ai_tokens``
    of the plan they subscribe to, else ``ai.org_default_monthly_tokens`` (not the
    default plan's: a new organization adds no free tokens).

    Args:
        kit: whose settings and plans decide.

    Returns:
        The quota resolver.
    """
    ai = kit.settings.ai
    plans = kit.settings.billing.plans.values()
    planned = any(AI_TOKENS_QUOTA in plan.quotas for plan in plans)
    users: OwnerQuotaResolver = (
        PlanQuota(kit.plans, ai.default_monthly_tokens)
        if planned
        else DefaultQuota(ai.default_monthly_tokens)
    )
    if not ai.pooled_org_quota:
        return users
    organizations: OwnerQuotaResolver = (
        PlanQuota(kit.plans, ai.org_default_monthly_tokens, subscribed_only=True)
        if planned
        else DefaultQuota(ai.org_default_monthly_tokens)
    )
    return QuotasByKind({"user": users, ORGANIZATION: organizations})


class AIFeature(Feature[AIService]):
    """AI chat with metering and quotas.

    The service is built on first use (``kit.ai``) and is usable from host code even
    when the routes are off; ``POST /chat`` and ``GET /usage`` are mounted when
    ``ai.enabled``.

    Args:
        quotas: each owner's monthly tokens (default: :func:`default_quotas`).
    """

    name = "ai"
    prefix = "/ai"
    tags = ("ai",)
    tables = AI_TABLES
    lazy = True
    errors = (
        AINotConfigured,
        AIModelNotAllowed,
        AIModelNotInPlan,
        AIQuotaExceeded,
        AIUpstreamError,
        AIUpstreamRateLimited,
        AIUpstreamTimeout,
    )

    def __init__(self, quotas: QuotaResolver | OwnerQuotaResolver | None = None) -> None:
        self.quotas = quotas

    def build(self, kit: FeatureHost) -> AIService:
        """The AI service (see :func:`build_ai_service`)."""
        return build_ai_service(cast(AIKit, kit), self.quotas)

    def router(self, kit: FeatureHost, service: AIService | None) -> APIRouter:
        """``POST /chat`` and ``GET /usage``."""
        from saaskit.ai.router import build_ai_router

        return build_ai_router(cast(Any, kit))

    def install(self, kit: FeatureHost, app: FastAPI, router: APIRouter) -> None:
        """Mount the routes when ``ai.enabled`` (the ``openai`` package is then needed)."""
        if not kit.settings.ai.enabled:
            return
        from saaskit.exceptions import require_module

        require_module("openai", "ai")  # fail at startup, not at the first chat
        super().install(kit, app, router)

    async def aclose(self, service: AIService) -> None:
        """Close the provider's client."""
        await service.aclose()

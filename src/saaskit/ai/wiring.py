"""Builds a kit's AI service (``SaaSKit.ai``) and picks its quotas."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.ai.metering import UsageMeter
from saaskit.ai.models import AI_TABLES, AIUsageMixin
from saaskit.ai.quotas import (
    AI_TOKENS_QUOTA,
    DefaultQuota,
    OwnerQuotaResolver,
    PlanLookup,
    PlanQuota,
    QuotaResolver,
)
from saaskit.ai.service import AIService
from saaskit.db.replicas import ReadRouter
from saaskit.exceptions import (
    AIModelNotAllowed,
    AINotConfigured,
    AIQuotaExceeded,
    AIUpstreamError,
    AIUpstreamRateLimited,
    AIUpstreamTimeout,
)
from saaskit.features import Feature, FeatureHost
from saaskit.settings import SaaSKitSettings
from saaskit.store import Store

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI


class AIModels(Protocol):
    """The AI table of the kit's models (:class:`saaskit.tables.KitModels`)."""

    @property
    def ai_usage(self) -> type[AIUsageMixin]: ...


class AIKit(Protocol):
    """What the AI service is built from (:class:`saaskit.SaaSKit` has it)."""

    @property
    def settings(self) -> SaaSKitSettings: ...

    @property
    def models(self) -> AIModels: ...

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def store(self) -> Store: ...

    @property
    def plans(self) -> PlanLookup: ...

    @property
    def reads(self) -> ReadRouter: ...


def build_ai_service(
    kit: AIKit, quotas: QuotaResolver | OwnerQuotaResolver | None = None
) -> AIService:
    """The kit's :class:`AIService` on its database, store and ``ai`` settings.

    ``quotas`` defaults to :func:`default_quotas`.
    """
    meter = UsageMeter(kit.models.ai_usage, kit.session_factory, kit.store, reads=kit.reads)
    return AIService(kit.settings.ai, meter, quotas or default_quotas(kit))


def default_quotas(kit: AIKit) -> OwnerQuotaResolver:
    """The plan's ``ai_tokens`` quota (``kit.plans``) when some plan sets one, else
    ``ai.default_monthly_tokens`` for everyone (no plan lookup per call).
    """
    default = kit.settings.ai.default_monthly_tokens
    plans = kit.settings.billing.plans.values()
    if any(AI_TOKENS_QUOTA in plan.quotas for plan in plans):
        return PlanQuota(kit.plans, default)
    return DefaultQuota(default)


class AIFeature(Feature[AIService]):
    """AI chat with metering and quotas: built on first use (``kit.ai``), usable from
    host code even when the routes are off; ``POST /chat`` and ``GET /usage`` are
    mounted when ``ai.enabled``.

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

"""Builds a kit's AI service (``SaaSKit.ai``) and picks its quotas."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.ai.metering import UsageMeter
from saaskit.ai.models import AIUsageMixin
from saaskit.ai.quotas import (
    AI_TOKENS_QUOTA,
    DefaultQuota,
    OwnerQuotaResolver,
    PlanLookup,
    PlanQuota,
    QuotaResolver,
)
from saaskit.ai.service import AIService
from saaskit.settings import SaaSKitSettings
from saaskit.store import Store


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


def build_ai_service(
    kit: AIKit, quotas: QuotaResolver | OwnerQuotaResolver | None = None
) -> AIService:
    """The kit's :class:`AIService` on its database, store and ``ai`` settings.

    ``quotas`` defaults to :func:`default_quotas`.
    """
    meter = UsageMeter(kit.models.ai_usage, kit.session_factory, kit.store)
    return AIService(kit.settings.ai, meter, quotas or default_quotas(kit))


def default_quotas(kit: AIKit) -> OwnerQuotaResolver:
    """The plan's ``ai_tokens`` quota (``kit.plans``) when some plan sets one, else
    ``ai.default_monthly_tokens`` for everyone (no plan lookup per call)."""
    default = kit.settings.ai.default_monthly_tokens
    plans = kit.settings.billing.plans.values()
    if any(AI_TOKENS_QUOTA in plan.quotas for plan in plans):
        return PlanQuota(kit.plans, default)
    return DefaultQuota(default)

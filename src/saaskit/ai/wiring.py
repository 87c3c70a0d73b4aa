"""Builds a kit's AI service (``SaaSKit.ai``) and picks its quotas."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saaskit.ai.metering import UsageMeter
from saaskit.ai.quotas import (
    AI_TOKENS_QUOTA,
    DefaultQuota,
    OwnerQuotaResolver,
    PlanQuota,
    QuotaResolver,
)
from saaskit.ai.service import AIService

if TYPE_CHECKING:
    from saaskit.kit import SaaSKit


def build_ai_service(
    kit: SaaSKit[Any], quotas: QuotaResolver | OwnerQuotaResolver | None = None
) -> AIService:
    """The kit's :class:`AIService` on its database, store and ``ai`` settings.

    ``quotas`` defaults to :func:`default_quotas`.
    """
    meter = UsageMeter(kit.models.ai_usage, kit.session_factory, kit.store)
    return AIService(kit.settings.ai, meter, quotas or default_quotas(kit))


def default_quotas(kit: SaaSKit[Any]) -> OwnerQuotaResolver:
    """The plan's ``ai_tokens`` quota (``kit.plans``) when some plan sets one, else
    ``ai.default_monthly_tokens`` for everyone (no plan lookup per call)."""
    default = kit.settings.ai.default_monthly_tokens
    plans = kit.settings.billing.plans.values()
    if any(AI_TOKENS_QUOTA in plan.quotas for plan in plans):
        return PlanQuota(kit.plans, default)
    return DefaultQuota(default)

"""saaskit's own tables, declared on the host's ``DeclarativeBase``.

A host calls :func:`build_models` once, in the module that defines its models, so that
its metadata (and so Alembic autogenerate) sees saaskit's tables next to its own::

    class Base(DeclarativeBase): ...

    class User(UserMixin, Base):
        __tablename__ = "users"

    saaskit_models = build_models(Base, User)

and passes them on: ``SaaSKit(settings, user_model=User, models=saaskit_models)``.

Each feature declares its own table mixins in its ``models`` module (``audit.models``,
``billing.models``, ``ai.models``); this module composes them, so it sits above the
features, and :mod:`saaskit.db` below them. ``from saaskit.db import build_models`` keeps
working (a lazy alias of this function).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import DeclarativeBase

from saaskit.ai.models import AIUsageMixin
from saaskit.audit.models import AuditEventMixin
from saaskit.billing.models import BillingCustomerMixin, SubscriptionMixin, WebhookEventMixin
from saaskit.db.mixins import UserMixin

__all__ = ["KitModels", "build_models"]


@dataclass(frozen=True)
class KitModels:
    """The saaskit tables of one host metadata."""

    audit_event: type[AuditEventMixin]
    subscription: type[SubscriptionMixin]
    webhook_event: type[WebhookEventMixin]
    ai_usage: type[AIUsageMixin]
    billing_customer: type[BillingCustomerMixin]


def build_models(base: type[DeclarativeBase], user_model: type[UserMixin]) -> KitModels:
    """Declare saaskit's tables on ``base`` (call once per metadata; later calls return
    the same models)."""
    existing: KitModels | None = base.__dict__.get("__saaskit_models__")
    if existing is not None:
        return existing
    audit_event: type[AuditEventMixin] = type(
        "AuditEvent",
        (AuditEventMixin, base),
        {"__tablename__": "audit_events", "__module__": base.__module__},
    )
    subscription: type[SubscriptionMixin] = type(
        "Subscription",
        (SubscriptionMixin, base),
        {
            "__tablename__": "subscriptions",
            "__module__": base.__module__,
            "__user_table__": user_model.__tablename__,  # type: ignore[attr-defined]
        },
    )
    webhook_event: type[WebhookEventMixin] = type(
        "WebhookEvent",
        (WebhookEventMixin, base),
        {"__tablename__": "webhook_events", "__module__": base.__module__},
    )
    ai_usage: type[AIUsageMixin] = type(
        "AIUsage",
        (AIUsageMixin, base),
        {
            "__tablename__": "ai_usage",
            "__module__": base.__module__,
            "__user_table__": user_model.__tablename__,  # type: ignore[attr-defined]
        },
    )
    billing_customer: type[BillingCustomerMixin] = type(
        "BillingCustomer",
        (BillingCustomerMixin, base),
        {"__tablename__": "billing_customers", "__module__": base.__module__},
    )
    models = KitModels(
        audit_event=audit_event,
        subscription=subscription,
        webhook_event=webhook_event,
        ai_usage=ai_usage,
        billing_customer=billing_customer,
    )
    setattr(base, "__saaskit_models__", models)  # noqa: B010 - marks the metadata as done
    return models

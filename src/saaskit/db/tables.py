"""saaskit's own tables, declared on the host's ``DeclarativeBase``.

A host calls :func:`build_models` once, in the module that defines its models, so that
its metadata (and so Alembic autogenerate) sees saaskit's tables next to its own::

    class Base(DeclarativeBase): ...

    class User(UserMixin, Base):
        __tablename__ = "users"

    saaskit_models = build_models(Base, User)

and passes them on: ``SaaSKit(settings, user_model=User, models=saaskit_models)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from saaskit.ai.models import AIUsageMixin
from saaskit.billing.models import SubscriptionMixin, WebhookEventMixin
from saaskit.db.mixins import UserMixin, utcnow


class AuditEventMixin:
    """One security-relevant event: who did what to whom, from where, and how it went.

    ``actor_id`` and ``target_id`` are plain integers, not foreign keys: an audit trail
    must outlive the users it mentions.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        default=utcnow,  # microseconds on SQLite too
        server_default=func.now(),
        nullable=False,
        index=True,
    )
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    target_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(256), nullable=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


@dataclass(frozen=True)
class KitModels:
    """The saaskit tables of one host metadata."""

    audit_event: type[AuditEventMixin]
    subscription: type[SubscriptionMixin]
    webhook_event: type[WebhookEventMixin]
    ai_usage: type[AIUsageMixin]


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
    models = KitModels(
        audit_event=audit_event,
        subscription=subscription,
        webhook_event=webhook_event,
        ai_usage=ai_usage,
    )
    setattr(base, "__saaskit_models__", models)  # noqa: B010 - marks the metadata as done
    return models

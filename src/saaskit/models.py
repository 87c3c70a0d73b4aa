"""Ready-made models for hosts that customise nothing (and for ``saaskit demo``).

Their schema is created by the migrations shipped in ``saaskit.migrations``.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from saaskit.ai.models import AIUsageMixin
from saaskit.audit.models import AuditEventMixin
from saaskit.billing.models import BillingCustomerMixin, SubscriptionMixin, WebhookEventMixin
from saaskit.db.mixins import UserMixin
from saaskit.tables import KitModels, build_models

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """saaskit's default declarative base (a host normally has its own)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(UserMixin, Base):
    """The default user model: exactly the seed's ``users`` table."""

    __tablename__ = "users"


tables: KitModels = build_models(Base, User)
"""saaskit's own tables on the default metadata."""

AuditEvent: type[AuditEventMixin] = tables.audit_event
Subscription: type[SubscriptionMixin] = tables.subscription
WebhookEvent: type[WebhookEventMixin] = tables.webhook_event
AIUsage: type[AIUsageMixin] = tables.ai_usage
BillingCustomer: type[BillingCustomerMixin] = tables.billing_customer

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

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import DeclarativeBase

from saaskit.ai.models import AI_TABLES, AIUsageMixin
from saaskit.apikeys.models import APIKEY_TABLES
from saaskit.audit.models import AUDIT_TABLES, AuditEventMixin
from saaskit.billing.models import (
    BILLING_TABLES,
    BillingCustomerMixin,
    SubscriptionMixin,
    WebhookEventMixin,
)
from saaskit.db.mixins import UserMixin
from saaskit.features import declare_tables
from saaskit.mfa.models import MFA_TABLES
from saaskit.oauth.models import OAUTH_TABLES
from saaskit.orgs.models import ORG_TABLES
from saaskit.passkeys.models import PASSKEY_TABLES
from saaskit.privacy.models import PRIVACY_TABLES

logger = logging.getLogger("saaskit")

if TYPE_CHECKING:
    from saaskit.features import Feature

__all__ = ["KitModels", "build_models"]


@dataclass(frozen=True)
class KitModels:
    """The saaskit tables of one host metadata."""

    audit_event: type[AuditEventMixin]
    subscription: type[SubscriptionMixin]
    webhook_event: type[WebhookEventMixin]
    ai_usage: type[AIUsageMixin]
    billing_customer: type[BillingCustomerMixin]
    tables: Mapping[str, type[Any]] = field(default_factory=dict, compare=False, hash=False)
    """Every table declared on this metadata by key, the features' too
    (``kit.models.tables["note"]``)."""


def build_models(
    base: type[DeclarativeBase],
    user_model: type[UserMixin],
    features: Sequence[Feature[Any]] = (),
) -> KitModels:
    """Declare saaskit's tables, and those of ``features``, on ``base``.

    Call it once per metadata, in the module that defines the host's models, so Alembic
    autogenerate sees every table; later calls return the same models (and declare the
    tables of features not seen before).

    Args:
        base: the host's ``DeclarativeBase``.
        user_model: the host's user model.
        features: features with tables of their own (``Feature.tables``).

    Returns:
        The tables, by name.
    """
    extra = [spec for feature in features for spec in feature.tables]
    existing: KitModels | None = base.__dict__.get("__saaskit_models__")
    if existing is not None:
        declare_tables(base, user_model, extra)
        return existing
    # The kit's own features' tables, in the order they were always declared.
    own = {
        spec.key: spec
        for spec in (
            *AUDIT_TABLES,
            *BILLING_TABLES,
            *AI_TABLES,
            *ORG_TABLES,
            *APIKEY_TABLES,
            *MFA_TABLES,
            *PRIVACY_TABLES,
            *OAUTH_TABLES,
            *PASSKEY_TABLES,
        )
    }
    order = (
        "audit_event",
        "subscription",
        "webhook_event",
        "ai_usage",
        "billing_customer",
        "organization",
        "membership",
        "invitation",
        "ai_member_usage",
        "ai_meter_outbox",
        "api_key",
        "mfa_totp",
        "mfa_recovery_code",
        "data_export",
        "account_deletion",
        "oauth_account",
        "passkey",
        "ai_daily_usage",
    )
    declared = declare_tables(base, user_model, [*(own[key] for key in order), *extra])
    models = KitModels(
        audit_event=declared["audit_event"],
        subscription=declared["subscription"],
        webhook_event=declared["webhook_event"],
        ai_usage=declared["ai_usage"],
        billing_customer=declared["billing_customer"],
        tables=declared,
    )
    setattr(base, "__saaskit_models__", models)  # noqa: B010 - marks the metadata as done
    return models


def base_of(model: type[Any]) -> Any:
    """The ``DeclarativeBase`` a mapped class was declared on."""
    return next(c for c in model.__mro__ if "registry" in c.__dict__)


def models_for(user_model: type[Any], default_user: type[Any], default: KitModels) -> KitModels:
    """Saaskit's tables for ``user_model``'s metadata (built once per metadata).

    Args:
        user_model: the host's user model.
        default_user: saaskit's default user model, whose tables are ``default``.
        default: saaskit's tables on its default metadata.

    Returns:
        The tables, declared on the user model's base when they were not yet.
    """
    if user_model is default_user:
        return default
    base = base_of(user_model)
    existing: KitModels | None = base.__dict__.get("__saaskit_models__")
    if existing is None:
        logger.info(
            "saaskit: declaring its tables on %s; call saaskit.db.build_models(Base, User) in "
            "your models module so Alembic autogenerate sees them",
            base.__qualname__,
        )
        existing = build_models(base, user_model)
    return existing


def declare_feature_tables(
    models: KitModels, user_model: type[Any], features: Iterable[Feature[Any]]
) -> KitModels:
    """Declare the feature tables ``models`` lacks on the same metadata.

    These are the tables of ``features`` that the host's ``build_models`` call did
    not name.

    Args:
        models: the kit's tables.
        user_model: the host's user model.
        features: every feature of the kit.

    Returns:
        ``models`` itself, or a copy when it was made by hand (without a table registry).
    """
    specs = [spec for feature in features for spec in feature.tables]
    declared = declare_tables(base_of(models.audit_event), user_model, specs)
    if models.tables is declared:
        return models
    return dataclasses.replace(models, tables=declared)

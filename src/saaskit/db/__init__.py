"""Database: engine, sessions and the model mixins a host builds its tables from.

``build_models``, ``KitModels`` and ``AuditEventMixin`` are loaded on first access:
saaskit's table mixins import :mod:`saaskit.db.mixins`, so an eager import here would
be circular.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saaskit.db.engine import create_engine, create_session_factory, is_sqlite
from saaskit.db.mixins import TimestampMixin, UserMixin, normalize_email

if TYPE_CHECKING:
    from saaskit.db.tables import AuditEventMixin, KitModels, build_models

__all__ = [
    "AuditEventMixin",
    "KitModels",
    "TimestampMixin",
    "UserMixin",
    "build_models",
    "create_engine",
    "create_session_factory",
    "is_sqlite",
    "normalize_email",
]

_LAZY = frozenset({"AuditEventMixin", "KitModels", "build_models"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from saaskit.db import tables

        return getattr(tables, name)
    raise AttributeError(f"module 'saaskit.db' has no attribute {name!r}")

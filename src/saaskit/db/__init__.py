"""Database: engine, sessions and the model mixins a host builds its tables from.

This package is the bottom of saaskit's storage: it imports nothing from the features
(the layering contract in ``pyproject.toml`` checks it). saaskit's own tables are
composed above the features, in :mod:`saaskit.tables`: import ``build_models`` from there.
``from saaskit.db import build_models`` (the path hosts used before) keeps working as a
lazy alias, looked up by module name so that no import edge points upwards (type
checkers see it as ``Any``; the new path is fully typed).
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from saaskit.db.engine import create_engine, create_session_factory, is_sqlite
from saaskit.db.mixins import TimestampMixin, UserMixin, normalize_email

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

_ALIASES = {"KitModels": "saaskit.tables", "build_models": "saaskit.tables"}
_DEPRECATED = {"AuditEventMixin": "saaskit.audit.models"}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        module = _DEPRECATED[name]
        warnings.warn(
            f"saaskit.db.{name} moved to {module}.{name}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), name)
    if name in _ALIASES:
        return getattr(importlib.import_module(_ALIASES[name]), name)
    raise AttributeError(f"module 'saaskit.db' has no attribute {name!r}")

"""Deprecated home of saaskit's tables.

Use :mod:`saaskit.tables` (``build_models``, ``KitModels``) and :mod:`saaskit.audit.models`
(``AuditEventMixin``).

Kept so that code importing from here keeps working, with a ``DeprecationWarning``. The
names are looked up lazily by module name, so :mod:`saaskit.db` itself imports nothing
above it.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

_MOVED = {
    "AuditEventMixin": "saaskit.audit.models",
    "KitModels": "saaskit.tables",
    "build_models": "saaskit.tables",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module 'saaskit.db.tables' has no attribute {name!r}")
    warnings.warn(
        f"saaskit.db.tables.{name} moved to {module}.{name}; import it from there",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), name)

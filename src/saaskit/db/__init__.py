"""Database: engine, sessions and the model mixins a host builds its tables from."""

from saaskit.db.engine import create_engine, create_session_factory, is_sqlite
from saaskit.db.mixins import TimestampMixin, UserMixin, normalize_email
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

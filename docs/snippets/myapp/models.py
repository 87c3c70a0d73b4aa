"""The host's models: its own Base, and a user table with an extra column."""

from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from saaskit.db import UserMixin
from saaskit.models import NAMING_CONVENTION
from saaskit.tables import build_models


class Base(DeclarativeBase):
    # Named constraints make Alembic migrations reproducible (and SQLite batch mode work).
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(UserMixin, Base):
    __tablename__ = "users"

    company: Mapped[str | None] = mapped_column(String(200), default=None)


# saaskit's own tables (audit events, ...) on this metadata, so that Alembic sees them.
saaskit_models = build_models(Base, User)

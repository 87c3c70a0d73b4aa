"""Acme's models: its own Base, and a users table with columns of its own."""

from sqlalchemy import Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from saaskit.db import UserMixin, build_models
from saaskit.models import NAMING_CONVENTION


class Base(DeclarativeBase):
    """Acme's declarative base; its metadata also holds saaskit's tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(UserMixin, Base):
    """saaskit's user columns (UserMixin) plus Acme's."""

    __tablename__ = "users"

    company: Mapped[str | None] = mapped_column(String(200), default=None)
    plan_seats: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


# saaskit's tables (audit log, subscriptions, AI usage, ...) on Acme's metadata.
saaskit_models = build_models(Base, User)

"""The linked provider accounts table, declared on the host's metadata from this mixin."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from saaskit.features import TableSpec

__all__ = ["OAUTH_TABLES", "OAuthAccountMixin"]


class OAuthAccountMixin:
    """One provider account (``provider`` + its stable ``subject``) linked to a user.

    A provider account belongs to one user, and a user has at most one account per
    provider. Provider tokens are kept (sealed) only with
    ``SAASKIT_OAUTH__STORE_PROVIDER_TOKENS``; otherwise the token columns stay empty.
    """

    __user_table__: ClassVar[str] = "users"

    @declared_attr.directive
    def __table_args__(cls) -> tuple[UniqueConstraint, ...]:
        """One user per provider account; one account per provider and user."""
        return (
            UniqueConstraint("provider", "subject"),
            UniqueConstraint("user_id", "provider"),
        )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(64), nullable=False)
    subject: Mapped[str] = mapped_column(String(255), nullable=False)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    access_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    refresh_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    token_scope: Mapped[str | None] = mapped_column(String(1024), nullable=True)

    @declared_attr
    def user_id(cls) -> Mapped[int]:
        """The user it logs in as; deleted with the user."""
        return mapped_column(
            Integer,
            ForeignKey(f"{cls.__user_table__}.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )


OAUTH_TABLES = (
    TableSpec(
        "oauth_account", "OAuthAccount", "oauth_accounts", OAuthAccountMixin, user_table=True
    ),
)
"""The feature's table (``kit.models.tables["oauth_account"]``)."""

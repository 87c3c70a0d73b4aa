"""The API key table, declared on the host's metadata from this mixin."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from saaskit.features import TableSpec

__all__ = ["APIKEY_TABLES", "ApiKeyMixin"]


class ApiKeyMixin:
    """An API key: its public identifier, the keyed hash of its secret, its scopes.

    ``user_id`` is the owner of a personal key, and the creator of an organization key
    (``organization_id`` set), which acts for the organization. The secret itself is never
    stored (see :mod:`saaskit.apikeys.format`).
    """

    __user_table__: ClassVar[str] = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    organization_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @declared_attr
    def user_id(cls) -> Mapped[int]:
        """The owner (personal key) or creator (organization key); deleted with the user."""
        return mapped_column(
            Integer,
            ForeignKey(f"{cls.__user_table__}.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )

    def as_dict(self) -> dict[str, Any]:
        """The row's public fields (never the hash)."""
        return {
            "id": self.public_id,
            "name": self.name,
            "scopes": list(self.scopes),
            "organization_id": self.organization_id,
            "created_by": self.user_id,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
            "last_used_ip": self.last_used_ip,
            "revoked_at": self.revoked_at,
        }


APIKEY_TABLES = (TableSpec("api_key", "ApiKey", "api_keys", ApiKeyMixin, user_table=True),)
"""The feature's table (``kit.models.tables["api_key"]``)."""

"""The passkey table, declared on the host's metadata from this mixin."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    func,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from saaskit.features import TableSpec

__all__ = ["PASSKEY_TABLES", "PasskeyMixin"]


class PasskeyMixin:
    """A WebAuthn credential (passkey) of a user: its id, public key and signature counter.

    Nothing secret is stored: the private key never leaves the authenticator.
    """

    __user_table__: ClassVar[str] = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    credential_id: Mapped[str] = mapped_column(String(1400), nullable=False, unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    sign_count: Mapped[int] = mapped_column(BigInteger, nullable=False)
    transports: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    aaguid: Mapped[str] = mapped_column(String(36), nullable=False)
    backed_up: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @declared_attr
    def user_id(cls) -> Mapped[int]:
        """The owner; deleted with the user."""
        return mapped_column(
            Integer,
            ForeignKey(f"{cls.__user_table__}.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )

    def as_dict(self) -> dict[str, Any]:
        """The row's public fields (never the credential id or the key)."""
        return {
            "id": self.public_id,
            "name": self.name,
            "transports": list(self.transports),
            "backed_up": self.backed_up,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
        }


PASSKEY_TABLES = (TableSpec("passkey", "Passkey", "passkeys", PasskeyMixin, user_table=True),)
"""The feature's table (``kit.models.tables["passkey"]``)."""

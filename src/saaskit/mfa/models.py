"""The 2FA tables, declared on the host's metadata from these mixins."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from saaskit.features import TableSpec

__all__ = ["MFA_TABLES", "RecoveryCodeMixin", "TotpFactorMixin"]


class TotpFactorMixin:
    """A user's TOTP authenticator: at most one per user.

    ``secret`` is sealed (:mod:`saaskit.mfa.sealing`). ``confirmed_at`` is set once the user
    proved a code: until then the factor is a pending enrollment and does nothing.
    ``last_step`` is the last time step a code was accepted for; it only grows, by an
    atomic ``UPDATE ... WHERE last_step < :step``, so a code works once.
    """

    __user_table__: ClassVar[str] = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    secret: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_step: Mapped[int] = mapped_column(
        BigInteger, nullable=False, default=0, server_default="0"
    )

    @declared_attr
    def user_id(cls) -> Mapped[int]:
        """The owner (deleted with the user); one factor per user."""
        return mapped_column(
            Integer,
            ForeignKey(f"{cls.__user_table__}.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        )


class RecoveryCodeMixin:
    """One single-use recovery code, stored as a keyed hash; ``used_at`` once spent."""

    __user_table__: ClassVar[str] = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @declared_attr
    def user_id(cls) -> Mapped[int]:
        """The owner (deleted with the user)."""
        return mapped_column(
            Integer,
            ForeignKey(f"{cls.__user_table__}.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (UniqueConstraint("user_id", "code_hash"),)


MFA_TABLES = (
    TableSpec("mfa_totp", "MfaTotpFactor", "mfa_totp_factors", TotpFactorMixin, user_table=True),
    TableSpec(
        "mfa_recovery_code",
        "MfaRecoveryCode",
        "mfa_recovery_codes",
        RecoveryCodeMixin,
        user_table=True,
    ),
)
"""The feature's tables (``kit.models.tables["mfa_totp"]``, ...)."""

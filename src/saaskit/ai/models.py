"""The ``ai_usage`` table: tokens per user, model and calendar month (UTC).

Declared on the host's metadata by :func:`saaskit.db.build_models`. It is the durable
record of usage; the store keeps a per-user monthly counter for the hot path, rebuilt
from this table when it is missing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

MONTH_LENGTH = 7
"""Length of a month key, ``YYYY-MM``."""


class AIUsageMixin:
    """Tokens one user spent on one model in one month (one row each, upserted).

    ``user_id`` is ``ON DELETE CASCADE``: usage has no meaning without its user.
    """

    __user_table__: ClassVar[str] = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(MONTH_LENGTH), nullable=False)
    model: Mapped[str] = mapped_column(String(128), nullable=False)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    requests: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        # One row per user, month and model; (user_id, month) first so that a user's
        # month is read through the same index.
        return (UniqueConstraint("user_id", "month", "model"),)

    @declared_attr
    def user_id(cls) -> Mapped[int]:
        return mapped_column(
            Integer, ForeignKey(f"{cls.__user_table__}.id", ondelete="CASCADE"), nullable=False
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

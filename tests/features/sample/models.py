"""The sample feature's table: declared on the host's metadata, never on a Base of its own."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from saaskit.features import TableSpec


class SampleNoteMixin:
    """One note of one user."""

    __user_table__: ClassVar[str] = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    @declared_attr
    def user_id(cls) -> Mapped[int]:
        return mapped_column(
            Integer,
            ForeignKey(f"{cls.__user_table__}.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )


SAMPLE_TABLES = (
    TableSpec("sample_note", "SampleNote", "sample_notes", SampleNoteMixin, user_table=True),
)

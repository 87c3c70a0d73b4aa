"""Column mixins for the host's own models.

A host declares its user table with its own ``DeclarativeBase``::

    class Base(DeclarativeBase): ...

    class User(UserMixin, Base):
        __tablename__ = "users"
        company: Mapped[str | None] = mapped_column(default=None)

Emails are stored in one canonical form (see :func:`normalize_email`), so the unique index
on ``email`` makes them unique regardless of case or of compatibility variants such as
fullwidth letters, on every database.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, Integer, String, false, func, true
from sqlalchemy.orm import Mapped, mapped_column, validates

EMAIL_MAX_LENGTH = 320


def normalize_email(email: str) -> str:
    """The canonical form saaskit stores and looks up: NFKC, stripped, lower-cased.

    NFKC folds compatibility variants into the characters they stand for: fullwidth
    letters (U+FF41 for ``a``), mathematical letters (U+1D41A) and ligatures (U+FB01 for
    ``fi``), so the fullwidth spelling of ``alice@example.com`` is ``alice@example.com``.
    Lower-casing is ``str.lower``, not ``str.casefold``: ``casefold`` also turns the sharp s
    into ``ss`` and the final sigma into a medial one, which look nothing alike, and the
    stored form is where reset links are sent, so it must not become another mailbox (or,
    after the ``@``, another domain: with and without the sharp s are two IDNA 2008 names).
    The second NFKC keeps the result stable when lower-casing decomposes a letter (U+0130,
    capital I with a dot, becomes ``i`` and a combining dot), so
    ``normalize_email(normalize_email(x)) == normalize_email(x)``.

    This only canonicalises: it checks nothing, so it also serves searches for parts of an
    address. Request bodies check addresses with :data:`saaskit.users.emails.EmailAddress`
    or :data:`~saaskit.users.emails.LookupEmail`, which end with this function.
    """
    folded = unicodedata.normalize("NFKC", email).strip().lower()
    return unicodedata.normalize("NFKC", folded)


def utcnow() -> datetime:
    """Now, in UTC, to the microsecond: the Python-side default of the timestamp columns.

    ``func.now()`` stays as the server default for rows written by plain SQL, but SQLite's
    ``CURRENT_TIMESTAMP`` has whole seconds where PostgreSQL's ``now()`` has microseconds;
    a value made here has microseconds on both.
    """
    return datetime.now(UTC)


class TimestampMixin:
    """``created_at`` (set on insert) and ``updated_at`` (set on every update), in UTC.

    Both carry microseconds on every database (see :func:`utcnow`).
    """

    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        default=utcnow,
        server_default=func.now(),
        nullable=False,
        index=True,
    )
    updated_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), onupdate=utcnow, nullable=True, default=None
    )


class UserMixin(TimestampMixin):
    """The columns saaskit needs on the user table (the seed schema)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(
        String(EMAIL_MAX_LENGTH), unique=True, index=True, nullable=False
    )
    hashed_password: Mapped[str] = mapped_column(String(255), nullable=False)
    full_name: Mapped[str | None] = mapped_column(String(255), nullable=True, default=None)
    is_active: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=True, server_default=true()
    )
    is_superuser: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    is_verified: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    stripe_customer_id: Mapped[str | None] = mapped_column(
        String(255), unique=True, index=True, nullable=True, default=None
    )

    @validates("email")
    def _normalize_email(self, _key: str, value: str) -> str:
        return normalize_email(value)

"""The organization tables: declared on the host's metadata from these mixins."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from saaskit.features import TableSpec

__all__ = ["ORG_TABLES", "InvitationMixin", "MembershipMixin", "OrganizationMixin"]


class OrganizationMixin:
    """An organization: a team that owns billing and has members."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    slug: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    mfa_required: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    """Members must have two-factor authentication on to use the organization's routes
    (enforced when the ``mfa`` feature is on; see :mod:`saaskit.mfa`)."""


class MembershipMixin:
    """One user's membership of one organization, with a role."""

    __user_table__: ClassVar[str] = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    joined_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    @declared_attr
    def user_id(cls) -> Mapped[int]:
        """The member (deleted with the user)."""
        return mapped_column(
            Integer,
            ForeignKey(f"{cls.__user_table__}.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (UniqueConstraint("organization_id", "user_id"),)


class InvitationMixin:
    """An invitation of an email address into an organization.

    The token is never stored: only its SHA-256 (``token_hash``), by which it is found.
    """

    __user_table__: ClassVar[str] = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @declared_attr
    def invited_by(cls) -> Mapped[int | None]:
        """Who invited (kept as null when that user is deleted)."""
        return mapped_column(
            Integer,
            ForeignKey(f"{cls.__user_table__}.id", ondelete="SET NULL"),
            nullable=True,
        )


ORG_TABLES = (
    TableSpec("organization", "Organization", "organizations", OrganizationMixin),
    TableSpec(
        "membership",
        "OrganizationMembership",
        "organization_memberships",
        MembershipMixin,
        user_table=True,
    ),
    TableSpec(
        "invitation",
        "OrganizationInvitation",
        "organization_invitations",
        InvitationMixin,
        user_table=True,
    ),
)
"""The feature's tables (``kit.models.tables["organization"]``, ...)."""

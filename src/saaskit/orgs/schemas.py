"""The organizations settings section (``SAASKIT_ORGS__*``) and request/response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from saaskit.text import PasswordText, SingleLine
from saaskit.users.emails import EmailAddress

__all__ = [
    "BUILTIN_ROLES",
    "InvitationAccept",
    "InvitationCreate",
    "InvitationCreated",
    "InvitationRead",
    "MemberRead",
    "MemberRoleUpdate",
    "OrgCreate",
    "OrgRead",
    "OrgUpdate",
    "OrgsSettings",
    "OwnershipTransfer",
]

BUILTIN_ROLES: dict[str, frozenset[str]] = {
    "owner": frozenset(
        {
            "org:read",
            "org:update",
            "org:delete",
            "org:transfer",
            "members:read",
            "members:invite",
            "members:manage",
            "billing:manage",
            "audit:read",
            "ai:read",
            "api_keys:manage",
        }
    ),
    "admin": frozenset(
        {
            "org:read",
            "org:update",
            "members:read",
            "members:invite",
            "members:manage",
            "billing:manage",
            "audit:read",
            "ai:read",
            "api_keys:manage",
        }
    ),
    "member": frozenset({"org:read", "members:read"}),
}
"""The built-in roles and their permissions. ``owner`` is special: an organization always
keeps at least one, and only an owner makes another."""


class OrgsSettings(BaseModel):
    """``SAASKIT_ORGS__*``: organizations."""

    enabled: bool = Field(True, description="Mount the organization routes and services.")
    roles: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "Extra roles, or extra permissions for built-in ones: role name -> permissions "
            "(added to a built-in role of that name)."
        ),
    )
    personal_org: bool = Field(
        False,
        description="Give every new user an organization of their own (its owner), created "
        "in the same transaction as the user; registering through an invitation too.",
    )
    invitation_ttl_hours: int = Field(72, ge=1, description="How long an invitation works.")
    invitations_per_org_per_hour: int = Field(
        50, ge=1, description="Invitations one organization may send per hour."
    )
    invitations_per_inviter_per_hour: int = Field(
        20, ge=1, description="Invitations one member may send per hour."
    )
    seats_include_pending: bool = Field(
        False,
        description="Count pending invitations as taken seats when inviting (the seat "
        "limit is a plan's `max_seats`, or the bought quantity with manual seats).",
    )
    sync_seat_quantity: bool = Field(
        False,
        description="Per-seat plans: after a membership change, set the organization's "
        "subscription quantity to its seat count (members, plus pending invitations with "
        "`seats_include_pending`), in one serialized job per organization.",
    )
    proration_behavior: Literal["create_prorations", "none", "always_invoice"] = Field(
        "create_prorations", description="Stripe's proration of a quantity change."
    )
    seat_sync_interval_seconds: int = Field(
        60,
        ge=0,
        le=3600,
        description="At most one quantity update per organization in this many seconds; "
        "changes in between wait and go in one update of the absolute count (Stripe allows "
        "about 200 quantity updates per subscription per hour; 0: no wait).",
    )
    membership_cache_seconds: int = Field(
        300, ge=0, description="How long a membership stays cached in the store (0: never)."
    )

    def role_permissions(self) -> dict[str, frozenset[str]]:
        """Every role with its permissions (built-in ones extended by the settings)."""
        roles = dict(BUILTIN_ROLES)
        for name, permissions in self.roles.items():
            roles[name] = roles.get(name, frozenset()) | frozenset(permissions)
        return roles


class OrgCreate(BaseModel):
    """A new organization: its name, and a slug (made from the name when not given)."""

    name: SingleLine = Field(min_length=1, max_length=100)
    slug: str | None = Field(
        None,
        min_length=2,
        max_length=64,
        pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$",
        description="Lowercase letters, digits and dashes; made from the name if omitted.",
    )


class OrgUpdate(BaseModel):
    """A new name for an organization."""

    name: SingleLine = Field(min_length=1, max_length=100)


class OrgRead(BaseModel):
    """An organization, with the caller's role in it."""

    id: int
    name: str
    slug: str
    created_at: datetime
    role: str = Field(description="The caller's role in the organization.")


class OrgDeleted(BaseModel):
    """A deleted organization, and whether its subscription was canceled with it."""

    id: int
    subscription_canceled: bool = Field(
        description="Whether a subscription of the organization was billing and is now "
        "canceled at once (no refund or proration is made for the rest of its period)."
    )


class MemberRead(BaseModel):
    """A member of an organization and their role."""

    user_id: int
    email: str
    full_name: str | None
    role: str
    joined_at: datetime


class MemberRoleUpdate(BaseModel):
    """The new role of a member."""

    role: SingleLine = Field(min_length=1, max_length=32)


class OwnershipTransfer(BaseModel):
    """Who becomes an owner when the caller hands the organization over."""

    user_id: int = Field(
        ge=1, le=2**31 - 1, description="A member who becomes an owner; the caller becomes admin."
    )


class InvitationCreate(BaseModel):
    """An invitation to an email address, with the role it grants."""

    email: EmailAddress
    role: SingleLine = Field("member", min_length=1, max_length=32)


class InvitationRead(BaseModel):
    """A pending invitation (never its token)."""

    id: int
    email: str
    role: str
    invited_by: int | None
    created_at: datetime
    expires_at: datetime


class InvitationCreated(InvitationRead):
    """The invitation just made (its token went by email only)."""


class InvitationAccept(BaseModel):
    """The token from an invitation email."""

    token: SingleLine = Field(min_length=16, max_length=128)


class InvitationRegister(InvitationAccept):
    password: PasswordText = Field(min_length=1, max_length=1024)
    full_name: SingleLine | None = Field(None, max_length=255)

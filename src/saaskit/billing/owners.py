"""Billing owners as billing sees them: who may be billed, and who may act for them.

Billing works on an :class:`~saaskit.owners.Owner` (a kind and an id). Each kind is
described to billing once, by an :class:`OwnerKindHandler`: the profile a Stripe
customer is created from, and whether a signed-in user may manage the owner's billing.
The kit registers ``"user"`` (a user manages only their own billing); organizations
register ``"organization"`` (members with ``billing:manage``) without changing billing.

An owner named by a client is only ever used after :meth:`OwnerRegistry.authorize`
said yes; an unknown kind, an unknown id and a refusal look the same (404), so a client
cannot learn which owners exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol

from saaskit.exceptions import BillingOwnerNotFound
from saaskit.owners import Owner
from saaskit.types import UserT
from saaskit.users.service import UserService

__all__ = ["OwnerKindHandler", "OwnerProfile", "OwnerRegistry", "UserOwners"]


@dataclass(frozen=True, slots=True)
class OwnerProfile:
    """What a Stripe customer is created with.

    Attributes:
        email: the billing email address.
        name: a display name (``None``: none sent).
        created_at: when the owner was created; it makes the customer's idempotency key
            differ when a database reset reuses an id.
    """

    email: str | None
    name: str | None
    created_at: datetime | None


class OwnerKindHandler(Protocol):
    """Billing's view of one kind of owner (register it on ``kit.billing.owners``)."""

    async def profile(self, owner_id: int, /) -> OwnerProfile | None:
        """The owner's profile, read from the database; ``None`` if it does not exist."""
        ...

    async def can_manage(self, user: Any, owner_id: int, /) -> bool:
        """Whether ``user`` (signed in and active) may manage this owner's billing."""
        ...


class UserOwners(Generic[UserT]):
    """The ``"user"`` kind: every user owns their own billing, and only theirs."""

    def __init__(self, users: UserService[UserT]) -> None:
        self.users = users

    async def profile(self, owner_id: int, /) -> OwnerProfile | None:
        """The user's email, name and creation time (from the database), ``None`` if gone."""
        user = await self.users.get(owner_id)  # the database, not the cache
        if user is None:
            return None
        return OwnerProfile(email=user.email, name=user.full_name, created_at=user.created_at)

    async def can_manage(self, user: Any, owner_id: int, /) -> bool:
        """Whether ``user`` may manage the billing of user ``owner_id``: only their own."""
        return bool(getattr(user, "id", None) == owner_id)


class OwnerRegistry:
    """The kinds of owner billing knows, each with its handler."""

    def __init__(self) -> None:
        self._kinds: dict[str, OwnerKindHandler] = {}

    def register(self, kind: str, handler: OwnerKindHandler) -> None:
        """Make ``kind`` billable (organizations call this for ``"organization"``)."""
        self._kinds[kind] = handler

    def knows(self, kind: str) -> bool:
        """Whether ``kind`` is registered."""
        return kind in self._kinds

    async def profile(self, owner: Owner) -> OwnerProfile:
        """The owner's profile.

        Raises:
            BillingOwnerNotFound: no such owner (or its kind is not registered).
        """
        handler = self._kinds.get(owner.kind)
        found = await handler.profile(owner.id) if handler else None
        if found is None:
            raise BillingOwnerNotFound()
        return found

    async def exists(self, owner: Owner) -> bool:
        """Whether ``owner`` is of a registered kind and exists (read from the database)."""
        handler = self._kinds.get(owner.kind)
        return handler is not None and await handler.profile(owner.id) is not None

    async def checkout_quantity(self, owner: Owner, plan: Any, requested: int) -> int:
        """The quantity a checkout of ``plan`` for ``owner`` buys.

        ``requested``, unless the owner's handler has ``checkout_quantity(owner_id, plan,
        requested)`` (organizations: their seat count when the quantity follows members).
        """
        decide = getattr(self._kinds.get(owner.kind), "checkout_quantity", None)
        if decide is None:
            return requested
        quantity: int = await decide(owner.id, plan, requested)
        return quantity

    async def authorize(self, user: Any, owner: Owner) -> Owner:
        """``owner`` if ``user`` may manage its billing.

        Raises:
            BillingOwnerNotFound: the kind is unknown, or ``user`` may not manage it
                (the same 404 either way: no oracle for which owners exist).
            SaaSKitError: what the kind's ``can_manage`` raises (organizations: 403
                ``org_mfa_required`` for a member without 2FA where it is required).
        """
        handler = self._kinds.get(owner.kind)
        if handler is None or not await handler.can_manage(user, owner.id):
            raise BillingOwnerNotFound()
        return owner

"""Billing owners: who a Stripe customer, a subscription and AI usage belong to.

An owner is a kind and an id: ``Owner("user", 5)`` today, ``Owner("organization", 3)``
once organizations exist. Billing and AI take an owner wherever they took a bare
``user_id``; a plain ``int`` is still accepted and means that user.

Nothing here imports another part of saaskit, so every feature may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["OWNER_KINDS", "Owner", "OwnerKind", "as_owner"]

OwnerKind = Literal["user", "organization"]
"""What can own a subscription or AI usage."""

OWNER_KINDS: tuple[str, ...] = get_args(OwnerKind)


@dataclass(frozen=True, slots=True)
class Owner:
    """Who a subscription, a Stripe customer or AI usage belongs to.

    Args:
        kind: ``"user"`` today; ``"organization"`` once organizations exist.
        id: the primary key of the owning row.
    """

    kind: OwnerKind
    id: int

    @classmethod
    def user(cls, user_id: int) -> Owner:
        """The owner that is the user ``user_id``."""
        return cls("user", user_id)

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        """``"organization:3"`` → ``Owner("organization", 3)``; ``None`` if malformed."""
        kind, _, number = text.partition(":")
        if kind not in OWNER_KINDS or not number.isascii() or not number.isdigit():
            return None
        value = int(number)
        if not 0 < value < 2**63:
            return None
        return cls(kind, value)  # type: ignore[arg-type]  # checked against OWNER_KINDS

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


def as_owner(owner: Owner | int) -> Owner:
    """``owner`` itself, or the user owner for a bare user id (the pre-owner API)."""
    if isinstance(owner, Owner):
        return owner
    if isinstance(owner, bool) or not isinstance(owner, int):
        raise TypeError(f"an owner is an Owner or a user id, not {type(owner).__name__}")
    return Owner("user", owner)

"""Billing owners: who a Stripe customer, a subscription and AI usage belong to.

An owner is a kind and an id: ``Owner("user", 5)`` today, ``Owner("organization", 3)``
once organizations exist. Billing and AI take an owner wherever they took a bare
``user_id``; a plain ``int`` is still accepted and means that user.

:class:`Owner` itself lives in :mod:`saaskit.types` (the shared vocabulary); this module
re-exports it with the helpers billing and AI use.
"""

from __future__ import annotations

from typing import get_args

from saaskit.types import Owner, OwnerKind

__all__ = ["OWNER_KINDS", "Owner", "OwnerKind", "as_owner"]

OWNER_KINDS: tuple[str, ...] = get_args(OwnerKind)


def as_owner(owner: Owner | int) -> Owner:
    """``owner`` itself, or the user owner for a bare user id (the pre-owner API)."""
    if isinstance(owner, Owner):
        return owner
    if isinstance(owner, bool) or not isinstance(owner, int):
        raise TypeError(f"an owner is an Owner or a user id, not {type(owner).__name__}")
    return Owner("user", owner)

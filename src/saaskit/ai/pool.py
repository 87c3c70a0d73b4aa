"""Pooled organization quotas: who a call in an organization's context is billed to.

With ``ai.pooled_org_quota`` a call made by a member in an organization's context (an
:class:`OrgMember`: the ``OrgContext`` that ``kit.current_org`` gives a route, or an
:class:`InOrganization` built by host code) is billed to the organization, an
:class:`~saaskit.owners.Owner` of kind ``"organization"``: its quota (its plan's
``ai_tokens``) is checked and consumed, and the usage is recorded for the organization
and for the member. Without the setting the same call is the member's own, as before.

This module knows nothing of the organizations feature (which sits above AI): any
object with an ``organization_id`` and a ``user_id`` is a member in context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias, runtime_checkable

from saaskit.owners import Owner, as_owner

__all__ = ["ORGANIZATION", "InOrganization", "OrgMember", "Payer", "bill_to"]

ORGANIZATION: Literal["organization"] = "organization"
"""The owner kind of an organization."""


@runtime_checkable
class OrgMember(Protocol):
    """A user acting in an organization's context (``kit.current_org``'s ``OrgContext``)."""

    @property
    def organization_id(self) -> int:
        """The organization."""
        ...

    @property
    def user_id(self) -> int:
        """The member making the call."""
        ...


@dataclass(frozen=True, slots=True)
class InOrganization:
    """A member in an organization's context, for host code outside a request.

    Example:
        ```python
        await kit.ai.chat(InOrganization(organization_id=3, user_id=user.id), messages)
        ```
    """

    organization_id: int
    user_id: int


Payer: TypeAlias = Owner | int | OrgMember
"""Whom a call is for: an owner, a user id, or a member in an organization's context."""


def bill_to(payer: Payer, *, pooled: bool) -> tuple[Owner, int | None]:
    """The owner a call is billed to, and the member it is recorded for (if any).

    Args:
        payer: an owner, a user id, or a member in an organization's context.
        pooled: ``ai.pooled_org_quota``: a member in context bills the organization;
            else the member's own quota.

    Returns:
        ``(owner, member)``; ``member`` is set only for a pooled organization call.
    """
    if isinstance(payer, Owner | int):
        return as_owner(payer), None
    if not isinstance(payer, OrgMember):
        raise TypeError(f"an AI call is billed to an owner, not {type(payer).__name__}")
    if pooled:
        return Owner(ORGANIZATION, int(payer.organization_id)), int(payer.user_id)
    return Owner.user(int(payer.user_id)), None

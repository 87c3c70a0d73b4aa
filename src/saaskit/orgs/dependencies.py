"""Dependencies for host routes scoped to an organization.

``kit.current_org`` resolves the organization from the path parameter ``org_id`` or, when
the route has none, the ``X-Organization`` header, and gives the caller's membership
(:class:`~saaskit.orgs.service.OrgContext`); ``kit.optional_org`` does the same for a
route that also serves requests naming no organization (``None`` then). A caller who is
not a member gets 404, like an organization that does not exist; a member whose role
lacks a permission gets 403.

The cached membership is read in the same store call as the session and the user
(:mod:`saaskit.auth.prefetch`): an org-scoped request costs one store round trip and no
SQL in the common case.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Depends, Header, Request

from saaskit.auth import prefetch
from saaskit.orgs.errors import OrgNotFound, OrgPermissionDenied
from saaskit.orgs.service import OrgContext, OrgService, membership_suffix
from saaskit.types import Owner

__all__ = ["ORG_HEADER", "OrgDependencies"]

MAX_ID = 2**31 - 1
"""The largest organization id (32-bit ids): anything larger is no organization."""

ORG_HEADER = "X-Organization"
"""The header that names the organization of a request whose path does not."""

OrgDependency = Callable[..., Coroutine[Any, Any, OrgContext]]
OptionalOrgDependency = Callable[..., Coroutine[Any, Any, OrgContext | None]]


async def _announce(request: Request) -> None:
    """Ask the session reader to fetch the membership with the session.

    It raises nothing: a request without a valid organization still gets 401 before 404.
    """
    raw = request.path_params.get("org_id") or request.headers.get(ORG_HEADER)
    text = str(raw) if raw is not None else ""
    if text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID:
        prefetch.want(membership_suffix(int(text)))


def _org_id(request: Request) -> int:
    raw = request.path_params.get("org_id") or request.headers.get(ORG_HEADER)
    if raw is None:
        raise OrgNotFound()
    text = str(raw)
    if not text.isdigit() or len(text) > 10 or int(text) > MAX_ID:
        raise OrgNotFound()
    return int(text)


class OrgDependencies:
    """``current_org``, ``optional_org``, ``require_org_permission``, ``require_org_role``."""

    def __init__(self, service: OrgService, current_active_user: Callable[..., Any]) -> None:
        self.service = service
        self.current_active_user = current_active_user

        async def current_org(
            request: Request,
            _: None = Depends(_announce),
            user: Any = Depends(current_active_user),
        ) -> OrgContext:
            org_id = _org_id(request)
            fetched = prefetch.take(membership_suffix(org_id))
            return await service.context(org_id, user.id, prefetched=fetched)

        async def optional_org(
            request: Request,
            _: None = Depends(_announce),
            user: Any = Depends(current_active_user),
            x_organization: str | None = Header(
                None,
                alias=ORG_HEADER,
                description="An organization's id: the request is made in its context "
                "(404 if the caller is not a member).",
            ),
        ) -> OrgContext | None:
            if request.path_params.get("org_id") is None and x_organization is None:
                return None
            org_id = _org_id(request)
            fetched = prefetch.take(membership_suffix(org_id))
            return await service.context(org_id, user.id, prefetched=fetched)

        self.current_org: OrgDependency = current_org
        self.optional_org: OptionalOrgDependency = optional_org

    def require_org_permission(self, permission: str) -> OrgDependency:
        """A dependency: the caller's organization context if their role has ``permission``.

        Args:
            permission: e.g. ``"billing:manage"``.

        Returns:
            The dependency (404 for a non-member, 403 for a member without it).
        """

        def check(ctx: OrgContext) -> None:
            if not ctx.allows(permission):
                raise OrgPermissionDenied()

        return self._scoped(check)

    def _scoped(self, check: Callable[[OrgContext], None]) -> OrgDependency:
        """``current_org`` followed by ``check``, as one dependency.

        Not ``Depends(current_org)`` nested in another dependency: each level of
        dependencies costs FastAPI a resolution per request, and these routes are hot.
        """
        service, current_active_user = self.service, self.current_active_user

        async def dependency(
            request: Request,
            _: None = Depends(_announce),
            user: Any = Depends(current_active_user),
        ) -> OrgContext:
            org_id = _org_id(request)
            fetched = prefetch.take(membership_suffix(org_id))
            ctx = await service.context(org_id, user.id, prefetched=fetched)
            check(ctx)
            return ctx

        return dependency

    def owner(self) -> Callable[..., Coroutine[Any, Any, Owner]]:
        """A dependency: the billing owner of the caller's organization (any member).

        For plan gates (``kit.gates.for_owner(...)``).
        """
        current_org = self.current_org

        async def org_owner(ctx: OrgContext = Depends(current_org)) -> Owner:
            return Owner("organization", ctx.organization_id)

        return org_owner

    def require_org_role(self, *roles: str) -> OrgDependency:
        """A dependency: the caller's organization context if their role is one of ``roles``.

        Args:
            roles: role names, e.g. ``"owner", "admin"``.

        Returns:
            The dependency (404 for a non-member, 403 for another role).
        """
        allowed = frozenset(roles)

        def check(ctx: OrgContext) -> None:
            if ctx.role not in allowed:
                raise OrgPermissionDenied()

        return self._scoped(check)

"""Dependencies for host routes scoped to an organization.

``kit.current_org`` resolves the organization from the path parameter ``org_id`` or, when
the route has none, the ``X-Organization`` header, and gives the caller's membership
(:class:`~saaskit.orgs.service.OrgContext`); ``kit.optional_org`` does the same for a
route that also serves requests naming no organization (``None`` then). A caller who is
not a member gets 404, like an organization that does not exist; a member whose role
lacks a permission gets 403, and a member without two-factor authentication in an
organization that requires it gets 403 ``org_mfa_required``.

The cached membership is read in the same store call as the session and the user
(:mod:`saaskit.auth.prefetch`): an org-scoped request costs one store round trip and no
SQL in the common case.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Depends, Header, Request

from saaskit.auth import prefetch
from saaskit.auth.credentials import SESSION, Principal
from saaskit.openapi import ERROR_STATUSES_ATTRIBUTE
from saaskit.orgs.errors import OrgMfaRequired, OrgNotFound, OrgPermissionDenied
from saaskit.orgs.service import OrgContext, OrgService, membership_suffix
from saaskit.types import Owner

__all__ = ["ORG_HEADER", "OrgDependencies"]

MAX_ID = 2**31 - 1
"""The largest organization id (32-bit ids): anything larger is no organization."""

ORG_HEADER = "X-Organization"
"""The header that names the organization of a request whose path does not."""

OrgDependency = Callable[..., Coroutine[Any, Any, OrgContext]]
OptionalOrgDependency = Callable[..., Coroutine[Any, Any, OrgContext | None]]


def _announce_now(request: Request) -> None:
    """Ask the session reader to fetch the membership with the session (raises nothing)."""
    raw = request.path_params.get("org_id") or request.headers.get(ORG_HEADER)
    text = str(raw) if raw is not None else ""
    if text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID:
        prefetch.want(membership_suffix(int(text)))


async def _announce(request: Request) -> None:
    """Ask the session reader to fetch the membership with the session.

    It raises nothing: a request without a valid organization still gets 401 before 404.
    """
    _announce_now(request)


def _org_id(request: Request) -> int:
    raw = request.path_params.get("org_id") or request.headers.get(ORG_HEADER)
    if raw is None:
        raise OrgNotFound()
    text = str(raw)
    if not text.isdigit() or len(text) > 10 or int(text) > MAX_ID:
        raise OrgNotFound()
    return int(text)


async def _context(
    service: OrgService, request: Request, principal: Principal[Any], *, mfa_gate: bool = True
) -> OrgContext:
    key_org = principal.organization_id
    if key_org is not None:  # an organization API key acts for its organization
        prefetch.take("")  # forget what the reader fetched for a membership
        raw = request.path_params.get("org_id") or request.headers.get(ORG_HEADER)
        if raw is not None and _org_id(request) != key_org:
            raise OrgNotFound()
        return await service.key_context(
            key_org, principal.user.id, principal.scopes, principal.credential_id
        )
    org_id = _org_id(request)
    fetched = prefetch.take(membership_suffix(org_id))
    ctx = await service.context(org_id, principal.user.id, prefetched=fetched)
    # Read with the membership (cached with it): no query of its own.
    if ctx.mfa_blocked and mfa_gate:
        raise OrgMfaRequired()
    if principal.method != SESSION:  # a personal API key: limited to its scopes
        ctx = dataclasses.replace(
            ctx, credential_scopes=principal.scopes, api_key_id=principal.credential_id
        )
    return ctx


_CONTEXT_KEY = "saaskit.org_context"
"""Where a request keeps its organization context (one resolution per request)."""


class _OrgContextDependency:
    """``current_org`` and the checks on it, as one dependency.

    FastAPI spends more on each level of dependencies than on the check itself, so the
    caller's principal is resolved inside (its credential readers' schemes are the only
    sub-dependencies, as for ``kit.current_active_user``): an org-scoped route costs about
    what a route that needs a signed-in user does. The context is kept on the request, so
    a route using several of these resolves it once.
    """

    def __init__(
        self,
        service: OrgService,
        authenticate: Any,
        check: Callable[[OrgContext], None] | None = None,
        *,
        mfa_gate: bool = True,
    ) -> None:
        self.service = service
        self.authenticate = authenticate
        self.check = check
        self.mfa_gate = mfa_gate
        # Lets saaskit's route class check the credential before it reads a request body,
        # and the OpenAPI list what this can answer.
        self.__saaskit_authenticator__ = getattr(authenticate, "__saaskit_authenticator__", None)
        # 403 too without a check: an organization may require two-factor authentication.
        setattr(self, ERROR_STATUSES_ATTRIBUTE, (401, 403, 404))

    @property
    def __signature__(self) -> inspect.Signature:
        """The principal dependency's parameters: the request and the readers' schemes."""
        signature: inspect.Signature = self.authenticate.__signature__
        return signature

    async def __call__(self, request: Request, **found: Any) -> OrgContext:
        """The caller's organization context, checked (404 non-member, 403 not allowed)."""
        ctx: OrgContext | None = request.scope.get(_CONTEXT_KEY)
        if ctx is None:
            _announce_now(request)
            principal = await self.authenticate(request, **found)
            ctx = await _context(self.service, request, principal, mfa_gate=self.mfa_gate)
            if self.mfa_gate:  # an ungated context is never reused by a gated dependency
                request.scope[_CONTEXT_KEY] = ctx
        else:  # resolved by another of these: still this one's credential checks
            await self.authenticate(request, **found)
        if self.check is not None:
            self.check(ctx)
        return ctx


def _build(service: OrgService, authenticate: Callable[..., Any]) -> OrgDependency:
    return _OrgContextDependency(service, authenticate)


def _build_optional(service: OrgService, authenticate: Callable[..., Any]) -> OptionalOrgDependency:
    async def optional_org(
        request: Request,
        _: None = Depends(_announce),
        principal: Principal[Any] = Depends(authenticate),
        x_organization: str | None = Header(
            None,
            alias=ORG_HEADER,
            description="An organization's id: the request is made in its context "
            "(404 if the caller is not a member).",
        ),
    ) -> OrgContext | None:
        named = request.path_params.get("org_id") is not None or x_organization is not None
        if not named and principal.organization_id is None:
            return None
        return await _context(service, request, principal)

    return optional_org


class OrgDependencies:
    """``current_org``, ``optional_org``, ``require_org_permission``, ``require_org_role``.

    Args:
        service: the organizations service.
        authenticate: the principal of an active user, organization API keys accepted.
        session_authenticate: the same for login sessions only (the kit's own routes
            that change an organization); default: ``authenticate``.
    """

    def __init__(
        self,
        service: OrgService,
        authenticate: Callable[..., Any],
        session_authenticate: Callable[..., Any] | None = None,
    ) -> None:
        self.service = service
        self._authenticate = authenticate
        self._session_authenticate = session_authenticate or authenticate
        self.current_org: OrgDependency = _build(service, authenticate)
        self.optional_org: OptionalOrgDependency = _build_optional(service, authenticate)
        self.session_org: OrgDependency = (
            _build(service, session_authenticate)
            if session_authenticate is not None
            else self.current_org
        )
        self.leaving_org: OrgDependency = _OrgContextDependency(
            service, self._session_authenticate, mfa_gate=False
        )
        """``session_org`` without the organization's 2FA requirement: only for leaving it
        (a member who will not turn 2FA on can still go)."""

    def require_org_permission(
        self, permission: str, *, session_only: bool = False
    ) -> OrgDependency:
        """A dependency: the caller's organization context if their role has ``permission``.

        With an API key, the key must grant ``permission`` too.

        Args:
            permission: e.g. ``"billing:manage"``.
            session_only: refuse API keys (401): the kit's own changes need a session.

        Returns:
            The dependency (404 for a non-member, 403 for a member without it).
        """
        authenticate = self._session_authenticate if session_only else self._authenticate

        def check(ctx: OrgContext) -> None:
            if not ctx.allows(permission):
                raise OrgPermissionDenied()

        return _OrgContextDependency(self.service, authenticate, check)

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

        return _OrgContextDependency(self.service, self._authenticate, check)

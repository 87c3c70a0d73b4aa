"""FastAPI dependencies that authenticate a request: one callable class, :class:`Authenticate`.

In the style of FastAPI's ``fastapi.security`` classes: an instance is the dependency
(``Depends(kit.authenticate(scopes={"reports:read"}))``), and ``auto_error=False``
makes it optional (an anonymous caller gets ``None``). The options cover what the kit's
named dependencies need (``kit.current_user``, ``kit.current_active_user``, ...), which
are instances of it.

The common path costs one JWT decode and one store round trip (see
:mod:`saaskit.auth.credentials`). The principal is kept on the request, so two
dependencies on one route cost one lookup, and each dependency reads the credential
itself (one level of dependencies, not a chain).
"""

from __future__ import annotations

import inspect
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Generic

from fastapi import Depends, Request

from saaskit.auth.credentials import SESSION, Authenticator, Principal
from saaskit.exceptions import (
    ImpersonationForbidden,
    InactiveUser,
    InvalidToken,
    NotAuthenticated,
    PermissionDenied,
    ReauthenticationRequired,
)
from saaskit.middleware import PRINCIPAL_SCOPE_KEY
from saaskit.openapi import ERROR_STATUSES_ATTRIBUTE
from saaskit.types import UserT

__all__ = ["AuthDependencies", "Authenticate", "CurrentUser", "Principal", "build_dependencies"]

_FIRST = "credential_0"  # the parameter of the first reader's credential
_SCOPE_KEY = PRINCIPAL_SCOPE_KEY
_ORG_KEY = (
    "An organization API key acts for its organization, not for a person: it works on "
    "organization routes only."
)  # also read by SecurityHeadersMiddleware (no-store)


@cache
def _names(count: int) -> tuple[str, ...]:
    """The parameter names of the first ``count`` readers' credentials."""
    return tuple(f"credential_{index}" for index in range(count))


class Authenticate(Generic[UserT]):
    """A dependency that yields the request's :class:`Principal` (or refuses it).

    Args:
        authenticator: the kit's credential readers (``kit.authenticator``).
        auto_error: refuse a request without a credential (401 ``not_authenticated``);
            with False such a request gets ``None``. A credential that is presented but
            invalid is refused either way: a bad token never turns into anonymous.
        active: refuse an inactive user (401 ``inactive_user``).
        verified: refuse a user whose email is not verified (403).
        superuser: refuse a user who is not a superuser (403).
        scopes: every one of these must be granted to the credential (403).
        methods: only credentials of these methods (``{"session"}``); others get 401.
        recent_seconds: the session must have proved the password at most this long
            ago (403 ``reauthentication_required``); only login sessions can.
        organization_keys: accept a credential that acts for an organization rather
            than a person (an organization API key, ``principal.organization_id`` set);
            refused otherwise (403): ``kit.current_org`` and ``kit.require_scopes`` accept
            them, the dependencies that yield a person (``kit.current_active_user``) don't.
        impersonation: accept an impersonation token (a superuser acting as the user,
            ``principal.actor_id`` set); refused otherwise (403 ``impersonation_forbidden``).
            Default: accepted, except where the dependency asks for a superuser or a
            recent password proof. The kit's owner-only changes (password, email, 2FA,
            API keys, billing) use ``kit.dependencies.current_owner_user`` /
            ``owner_principal``, which refuse it.
    """

    def __init__(
        self,
        authenticator: Authenticator[UserT],
        *,
        auto_error: bool = True,
        active: bool = False,
        verified: bool = False,
        superuser: bool = False,
        scopes: Collection[str] = (),
        methods: Collection[str] | None = None,
        recent_seconds: int | None = None,
        organization_keys: bool = False,
        impersonation: bool | None = None,
    ) -> None:
        self.authenticator = authenticator
        if impersonation is None:
            impersonation = not superuser and recent_seconds is None
        self.impersonation = impersonation
        self.organization_keys = organization_keys
        self.auto_error = auto_error
        self.active = active or verified or superuser
        self.verified = verified
        self.superuser = superuser
        self.scopes = frozenset(scopes)
        self.methods = None if methods is None else frozenset(methods)
        if recent_seconds is not None:
            self.methods = frozenset({SESSION}) & (self.methods or frozenset({SESSION}))
        self.recent_seconds = recent_seconds
        # Whether check() has more to do than the active flag (most dependencies don't).
        self._strict = (
            self.methods is not None
            or verified
            or superuser
            or bool(self.scopes)
            or recent_seconds is not None
            or not impersonation
        )
        # Lets saaskit's route class check the credential before it reads a request body.
        self.__saaskit_authenticator__ = self
        # What it can answer, listed in the OpenAPI of every route that uses it: 401 for a
        # missing or refused credential (even when optional: a bad one is never anonymous),
        # 403 when it asks more of the user or the credential than being signed in.
        strict = (
            verified
            or superuser
            or bool(self.scopes)
            or recent_seconds is not None
            or not impersonation
        )
        setattr(self, ERROR_STATUSES_ATTRIBUTE, (401, 403) if strict else (401,))

    @property
    def __signature__(self) -> inspect.Signature:
        """The dependency's parameters for FastAPI.

        The request, and each reader's security scheme as a sub-dependency (it extracts the
        credential and documents it in OpenAPI).
        """
        parameters = [
            inspect.Parameter(
                "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
            )
        ]
        for index, reader in enumerate(self.authenticator.readers):
            parameters.append(
                inspect.Parameter(
                    _names(index + 1)[index],
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=str | None,
                    default=Depends(reader.scheme),
                )
            )
        return inspect.Signature(parameters)

    async def __call__(self, request: Request, **found: str | None) -> Principal[UserT] | None:
        """The request's principal, or ``None`` for an anonymous caller when optional.

        Raises:
            NotAuthenticated: no credential (and the dependency is not optional), or one
                of a kind this dependency does not accept.
            InvalidToken: the credential is not valid (or its session ended).
            InactiveUser: the user is inactive and the dependency requires an active one.
            PermissionDenied: the user is not verified, not a superuser or lacks a scope
                the dependency requires.
        """
        principal: Principal[UserT] | None = request.scope.get(_SCOPE_KEY)
        if principal is None:
            readers = self.authenticator.readers
            if len(readers) == 1:  # Authenticator.select, for one reader
                reader = readers[0]
                credential = found.get(_FIRST)
                if not credential:
                    if not self.auto_error:
                        return None
                    raise NotAuthenticated()
                if not reader.recognizes(credential):
                    raise InvalidToken()
            else:
                names = _names(len(readers))
                selected = self.authenticator.select([found.get(name) for name in names])
                if selected is None:
                    if not self.auto_error:
                        return None
                    raise NotAuthenticated()
                reader, credential = selected
            principal = await reader.read(credential)
            request.scope[_SCOPE_KEY] = principal
        if self._strict:
            self.check(principal)
        else:
            if principal.organization_id is not None and not self.organization_keys:
                raise PermissionDenied(_ORG_KEY)
            if self.active and not principal.user.is_active:
                raise InactiveUser()
        return principal

    def check(self, principal: Principal[UserT]) -> None:
        """Refuse ``principal`` if it does not meet this dependency's requirements."""
        if self.methods is not None and principal.method not in self.methods:
            raise NotAuthenticated(f"A credential of kind {principal.method!r} does not work here.")
        if principal.organization_id is not None and not self.organization_keys:
            raise PermissionDenied(_ORG_KEY)
        if principal.actor_id is not None and not self.impersonation:
            raise ImpersonationForbidden()
        user = principal.user
        if self.active and not user.is_active:
            raise InactiveUser()
        if self.verified and not user.is_verified:
            raise PermissionDenied("Verify your email address first.")
        if self.superuser and not user.is_superuser:
            raise PermissionDenied()
        if self.scopes and not principal.allows(self.scopes):
            raise PermissionDenied("This credential does not grant the scope this needs.")
        if self.recent_seconds is not None and not principal.session.authenticated_within(
            self.recent_seconds
        ):
            raise ReauthenticationRequired()

    async def check_request(self, request: Request) -> None:
        """Refuse a request without a valid credential before its body is read.

        A signature check, no store round trip: an anonymous client cannot make an
        authenticated route parse a large body. Optional dependencies let anonymous requests
        through; a credential that is presented is checked either way.
        """
        selected = self.authenticator.select(await self.authenticator.extract(request))
        if selected is None:
            if self.auto_error:
                raise NotAuthenticated()
            return
        reader, credential = selected
        reader.precheck(credential)

    @cached_property
    def user(self) -> CurrentUser[UserT]:
        """The same dependency yielding the user instead of the principal."""
        return CurrentUser(self)


class CurrentUser(Generic[UserT]):
    """An :class:`Authenticate` that yields the principal's user.

    The user is ``None`` for an anonymous caller of an optional one.
    """

    def __init__(self, authenticate: Authenticate[UserT]) -> None:
        self.authenticate = authenticate
        self.__saaskit_authenticator__ = authenticate
        setattr(self, ERROR_STATUSES_ATTRIBUTE, getattr(authenticate, ERROR_STATUSES_ATTRIBUTE))

    @property
    def __signature__(self) -> inspect.Signature:
        return self.authenticate.__signature__

    async def __call__(self, request: Request, **found: str | None) -> UserT:
        """The authenticated principal's user (see :class:`Authenticate`)."""
        principal = await self.authenticate(request, **found)
        return principal.user if principal is not None else None  # type: ignore[return-value]


@dataclass(frozen=True)
class AuthDependencies(Generic[UserT]):
    """The dependencies a host uses on its own routes (``Depends(kit.current_user)``)."""

    principal: Authenticate[UserT]
    """A login session's principal (its claims, its session); other methods get 401."""
    current_user: CurrentUser[UserT]
    current_active_user: CurrentUser[UserT]
    current_verified_user: CurrentUser[UserT]
    current_superuser: CurrentUser[UserT]
    current_reauthenticated_user: CurrentUser[UserT]
    current_session_user: CurrentUser[UserT]
    """The active user of a login session: API keys get 401 (the kit's changes use it)."""
    session_superuser: CurrentUser[UserT]
    """A superuser of a login session (the kit's user administration changes)."""
    reauthenticated_superuser: CurrentUser[UserT]
    """A superuser of a login session that logged in or re-authenticated recently (403
    ``reauthentication_required`` otherwise): starting an impersonation uses it, so a
    stolen superuser access token alone cannot act as a customer."""
    active_principal: Authenticate[UserT]
    """An active user's principal, organization API keys accepted (``kit.current_org``)."""
    session_principal: Authenticate[UserT]
    """An active user's principal of a login session only."""
    optional_user: CurrentUser[UserT]
    """The active user, or ``None`` for an anonymous request (a bad token is still 401)."""
    owner_principal: Authenticate[UserT]
    """An active user's principal of a login session, the account's owner in person: no
    API key, no impersonation (403 ``impersonation_forbidden``). Changing the password,
    re-authenticating, 2FA and account deletion use it."""
    current_owner_user: CurrentUser[UserT]
    """The active user of a login session in person (no API key, no impersonation): the
    kit's owner-only changes (API keys, billing, second factors) use it."""


def build_dependencies(
    authenticator: Authenticator[UserT], *, reauthentication_seconds: int = 600
) -> AuthDependencies[UserT]:
    """The kit's named dependencies, each an :class:`Authenticate` (or its user)."""
    return AuthDependencies(
        principal=Authenticate(authenticator, methods={SESSION}),
        current_user=Authenticate(authenticator).user,
        current_active_user=Authenticate(authenticator, active=True).user,
        current_verified_user=Authenticate(authenticator, verified=True).user,
        current_superuser=Authenticate(authenticator, superuser=True).user,
        current_reauthenticated_user=Authenticate(
            authenticator, active=True, recent_seconds=reauthentication_seconds
        ).user,
        optional_user=Authenticate(authenticator, auto_error=False, active=True).user,
        current_session_user=Authenticate(authenticator, active=True, methods={SESSION}).user,
        session_superuser=Authenticate(authenticator, superuser=True, methods={SESSION}).user,
        reauthenticated_superuser=Authenticate(
            authenticator,
            superuser=True,
            methods={SESSION},
            recent_seconds=reauthentication_seconds,
        ).user,
        active_principal=Authenticate(authenticator, active=True, organization_keys=True),
        session_principal=Authenticate(authenticator, active=True, methods={SESSION}),
        owner_principal=Authenticate(
            authenticator, active=True, methods={SESSION}, impersonation=False
        ),
        current_owner_user=Authenticate(
            authenticator, active=True, methods={SESSION}, impersonation=False
        ).user,
    )

"""FastAPI dependencies that authenticate a request.

The common path costs one JWT decode and one store round trip: the session and the
cached user are fetched together. A token whose session has ended (logout, logout-all,
refresh-token reuse, password change, deactivation) is refused at once, and so is a token
whose session belongs to another user than its ``sub``: the session record, already
fetched, must name the same user, so a token can never borrow someone else's identity
through a live session id.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from saaskit.auth.sessions import RefreshSession, is_session_id, session_key
from saaskit.auth.tokens import TokenClaims, TokenCodec
from saaskit.exceptions import (
    InactiveUser,
    InvalidToken,
    NotAuthenticated,
    PermissionDenied,
    ReauthenticationRequired,
)
from saaskit.middleware import PRINCIPAL_SCOPE_KEY
from saaskit.store import Store
from saaskit.types import UserT
from saaskit.users.cache import UserCodec, user_cache_key
from saaskit.users.service import UserService


@dataclass(frozen=True, slots=True)
class Principal(Generic[UserT]):
    """The authenticated user, the claims of the token that proved it, and its session."""

    user: UserT
    claims: TokenClaims
    session: RefreshSession


class Authenticator(Generic[UserT]):
    """Resolves a bearer token to a :class:`Principal`.

    Verified access tokens are remembered in this process (bounded), so a client that
    sends the same token again costs a dict lookup and an expiry check instead of a
    signature check. The session check in the store still runs on every request.
    """

    MAX_REMEMBERED = 10_000

    def __init__(
        self, tokens: TokenCodec, store: Store, users: UserService[UserT], codec: UserCodec[UserT]
    ) -> None:
        self.tokens = tokens
        self.store = store
        self.users = users
        self.codec = codec
        self._verified: dict[str, TokenClaims] = {}

    def claims(self, token: str) -> TokenClaims:
        """The claims of a valid access token (raises :class:`InvalidToken`)."""
        claims = self._verified.get(token)
        if claims is None or claims.expires_at <= time.time():
            claims = self.tokens.decode(token, "access")
            if not is_session_id(claims.session_id):
                raise InvalidToken()
            if len(self._verified) >= self.MAX_REMEMBERED:
                self._verified.clear()
            self._verified[token] = claims
        return claims

    def check_bearer(self, authorization: str | None) -> None:
        """Refuse a request without a validly signed access token, before its body is
        read (a signature check, no store round trip): an anonymous client cannot make an
        authenticated route parse a large body."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated()
        self.claims(token)

    async def authenticate(self, token: str) -> Principal[UserT]:
        claims = self.claims(token)
        raw_session, cached = await self.store.get_many(
            [session_key(claims.session_id), user_cache_key(claims.user_id)]
        )
        if raw_session is None:
            raise InvalidToken("The session has ended; log in again.")
        session = RefreshSession.decode(raw_session)
        if session.user_id != claims.user_id:
            raise InvalidToken()
        user = self.codec.decode(cached) if cached else await self.users.load(claims.user_id)
        if user is None:
            raise InvalidToken()
        return Principal(user=user, claims=claims, session=session)


@dataclass(frozen=True)
class AuthDependencies(Generic[UserT]):
    """The dependencies a host uses on its own routes (``Depends(kit.current_user)``)."""

    principal: Callable[..., Awaitable[Principal[UserT]]]
    current_user: Callable[..., Awaitable[UserT]]
    current_active_user: Callable[..., Awaitable[UserT]]
    current_verified_user: Callable[..., Awaitable[UserT]]
    current_superuser: Callable[..., Awaitable[UserT]]
    current_reauthenticated_user: Callable[..., Awaitable[UserT]]


_SCOPE_KEY = PRINCIPAL_SCOPE_KEY  # also read by SecurityHeadersMiddleware (no-store)


def build_dependencies(
    authenticator: Authenticator[UserT], token_url: str, *, reauthentication_seconds: int = 600
) -> AuthDependencies[UserT]:
    """Each dependency reads the bearer token itself (one level of dependencies, not a
    chain), and the principal is kept on the request so two of them cost one lookup."""
    scheme = OAuth2PasswordBearer(tokenUrl=token_url, auto_error=False)

    async def resolve(request: Request, token: str | None) -> Principal[UserT]:
        found: Principal[UserT] | None = request.scope.get(_SCOPE_KEY)
        if found is None:
            if not token:
                raise NotAuthenticated()
            found = await authenticator.authenticate(token)
            request.scope[_SCOPE_KEY] = found
        return found

    async def active(request: Request, token: str | None) -> UserT:
        user = (await resolve(request, token)).user
        if not user.is_active:
            raise InactiveUser()
        return user

    async def principal(request: Request, token: str | None = Depends(scheme)) -> Principal[UserT]:
        """The user and the claims of their access token (session id...)."""
        return await resolve(request, token)

    async def current_user(request: Request, token: str | None = Depends(scheme)) -> UserT:
        """Any user with a live session, active or not."""
        return (await resolve(request, token)).user

    async def current_active_user(request: Request, token: str | None = Depends(scheme)) -> UserT:
        """An active user (401 ``inactive_user`` otherwise)."""
        return await active(request, token)

    async def current_verified_user(request: Request, token: str | None = Depends(scheme)) -> UserT:
        """An active user whose email is verified (403 otherwise)."""
        user = await active(request, token)
        if not user.is_verified:
            raise PermissionDenied("Verify your email address first.")
        return user

    async def current_superuser(request: Request, token: str | None = Depends(scheme)) -> UserT:
        """An active superuser (403 otherwise)."""
        user = await active(request, token)
        if not user.is_superuser:
            raise PermissionDenied()
        return user

    async def current_reauthenticated_user(
        request: Request, token: str | None = Depends(scheme)
    ) -> UserT:
        """An active user whose session proved the password recently (a login or
        ``POST /auth/reauthenticate``); 403 ``reauthentication_required`` otherwise."""
        found = await resolve(request, token)
        if not found.user.is_active:
            raise InactiveUser()
        if not found.session.authenticated_within(reauthentication_seconds):
            raise ReauthenticationRequired()
        return found.user

    dependencies: list[Callable[..., Any]] = [
        principal,
        current_user,
        current_active_user,
        current_verified_user,
        current_superuser,
        current_reauthenticated_user,
    ]
    for dependency in dependencies:
        # Lets saaskit's route class check the token before it reads a request body.
        dependency.__saaskit_authenticator__ = authenticator  # type: ignore[attr-defined]

    return AuthDependencies(
        principal=principal,
        current_user=current_user,
        current_active_user=current_active_user,
        current_verified_user=current_verified_user,
        current_superuser=current_superuser,
        current_reauthenticated_user=current_reauthenticated_user,
    )

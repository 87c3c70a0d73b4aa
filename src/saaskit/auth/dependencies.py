"""FastAPI dependencies that authenticate a request.

The common path costs one JWT decode and one store round trip: the session and the
cached user are fetched together. A token whose session has ended (logout, logout-all,
refresh-token reuse, password change, deactivation) is refused at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from saaskit.auth.sessions import session_key
from saaskit.auth.tokens import TokenClaims, TokenCodec
from saaskit.exceptions import InactiveUser, InvalidToken, NotAuthenticated, PermissionDenied
from saaskit.store import Store
from saaskit.users.cache import UserCodec, UserT, user_cache_key
from saaskit.users.service import UserService


@dataclass(frozen=True, slots=True)
class Principal(Generic[UserT]):
    """The authenticated user and the claims of the token that proved it."""

    user: UserT
    claims: TokenClaims


class Authenticator(Generic[UserT]):
    """Resolves a bearer token to a :class:`Principal`."""

    def __init__(
        self, tokens: TokenCodec, store: Store, users: UserService[UserT], codec: UserCodec[UserT]
    ) -> None:
        self.tokens = tokens
        self.store = store
        self.users = users
        self.codec = codec

    async def authenticate(self, token: str) -> Principal[UserT]:
        claims = self.tokens.decode(token, "access")
        session, cached = await self.store.get_many(
            [session_key(claims.session_id), user_cache_key(claims.user_id)]
        )
        if session is None:
            raise InvalidToken("The session has ended; log in again.")
        user = self.codec.decode(cached) if cached else await self.users.load(claims.user_id)
        if user is None:
            raise InvalidToken()
        return Principal(user=user, claims=claims)


@dataclass(frozen=True)
class AuthDependencies(Generic[UserT]):
    """The dependencies a host uses on its own routes (``Depends(kit.current_user)``)."""

    principal: Callable[..., Awaitable[Principal[UserT]]]
    current_user: Callable[..., Awaitable[UserT]]
    current_active_user: Callable[..., Awaitable[UserT]]
    current_verified_user: Callable[..., Awaitable[UserT]]
    current_superuser: Callable[..., Awaitable[UserT]]


def build_dependencies(
    authenticator: Authenticator[UserT], token_url: str
) -> AuthDependencies[UserT]:
    scheme = OAuth2PasswordBearer(tokenUrl=token_url, auto_error=False)

    async def principal(token: str | None = Depends(scheme)) -> Principal[UserT]:
        if not token:
            raise NotAuthenticated()
        return await authenticator.authenticate(token)

    async def current_user(p: Principal[UserT] = Depends(principal)) -> UserT:
        """Any user with a live session, active or not."""
        return p.user

    async def current_active_user(p: Principal[UserT] = Depends(principal)) -> UserT:
        """An active user (401 ``inactive_user`` otherwise)."""
        if not p.user.is_active:
            raise InactiveUser()
        return p.user

    async def current_verified_user(user: UserT = Depends(current_active_user)) -> UserT:
        """An active user whose email is verified (403 otherwise)."""
        if not user.is_verified:
            raise PermissionDenied("Verify your email address first.")
        return user

    async def current_superuser(user: UserT = Depends(current_active_user)) -> UserT:
        """An active superuser (403 otherwise)."""
        if not user.is_superuser:
            raise PermissionDenied()
        return user

    return AuthDependencies(
        principal=principal,
        current_user=current_user,
        current_active_user=current_active_user,
        current_verified_user=current_verified_user,
        current_superuser=current_superuser,
    )

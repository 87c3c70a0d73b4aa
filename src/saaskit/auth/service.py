"""Authentication rules: register, log in, refresh, log out. No HTTP here."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Generic

from saaskit.auth.schemas import TokenPair
from saaskit.auth.sessions import RefreshSession, SessionManager
from saaskit.auth.tokens import TokenCodec
from saaskit.users.cache import UserT
from saaskit.users.service import UserService


class AuthService(Generic[UserT]):
    """Turns credentials into sessions and tokens."""

    def __init__(
        self, users: UserService[UserT], sessions: SessionManager, tokens: TokenCodec
    ) -> None:
        self.users = users
        self.sessions = sessions
        self.tokens = tokens

    async def register(
        self,
        email: str,
        password: str,
        *,
        full_name: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> UserT:
        return await self.users.create(email, password, full_name=full_name, extra=extra)

    async def login(
        self, email: str, password: str, *, ip: str | None = None, user_agent: str | None = None
    ) -> tuple[UserT, TokenPair]:
        """Check the credentials and open a session."""
        user = await self.users.authenticate(email, password)
        await self.users.cache.put(user)
        session, jti = await self.sessions.open(user.id, ip=ip, user_agent=user_agent)
        return user, self.issue(session, jti)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate a refresh token into a new pair (single use; reuse revokes the session)."""
        claims = self.tokens.decode(refresh_token, "refresh")
        session, jti = await self.sessions.rotate(claims.session_id, claims.user_id, claims.jti)
        return self.issue(session, jti)

    async def logout(self, session_id: str, user_id: int) -> None:
        await self.sessions.revoke(session_id, user_id)

    async def logout_all(self, user_id: int) -> int:
        return await self.sessions.revoke_all(user_id)

    def issue(self, session: RefreshSession, jti: str) -> TokenPair:
        """The access/refresh pair for ``session``; refresh expires with the session."""
        now = int(time.time())
        access_exp = min(now + self.tokens.access_ttl, session.expires_at)
        access, _ = self.tokens.issue(
            "access", user_id=session.user_id, session_id=session.id, expires_at=access_exp
        )
        refresh, _ = self.tokens.issue(
            "refresh",
            user_id=session.user_id,
            session_id=session.id,
            expires_at=session.expires_at,
            jti=jti,
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=access_exp - now,
            refresh_expires_in=session.expires_at - now,
        )

"""Authentication rules: register, log in, refresh, log out. No HTTP here."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Generic, Protocol

from saaskit.audit.service import AuditAction, AuditLog
from saaskit.auth.recovery import AccountRecovery
from saaskit.auth.schemas import TokenPair
from saaskit.auth.sessions import RefreshSession, SessionManager
from saaskit.auth.tokens import TokenCodec, TokenType
from saaskit.db.mixins import normalize_email
from saaskit.exceptions import (
    EmailNotVerified,
    InvalidCredentials,
    InvalidToken,
    MfaRequired,
    RateLimited,
    RefreshTokenReused,
    UserNotFound,
)
from saaskit.hooks import Hooks
from saaskit.observability.metrics import recorder
from saaskit.ratelimit import RateLimiter, RateLimitRule
from saaskit.settings import AuthSettings
from saaskit.types import ClientInfo, UserT, UserT_contra
from saaskit.users.service import UserService, has_usable_password

NO_CLIENT = ClientInfo()
PASSWORD = "password"
"""The ``method`` of a login with email and password."""


class SecondFactorGate(Protocol[UserT_contra]):
    """Decides whether a login needs a second factor (the ``mfa`` feature is one).

    The auth core knows nothing of TOTP: a feature that adds a second factor sets
    ``kit.auth.second_factor`` to an object with this method.
    """

    async def begin_second_factor(
        self, user: UserT_contra, *, client: ClientInfo, method: str
    ) -> str | None:
        """A challenge token when ``user`` must prove a second factor, else ``None``.

        Args:
            user: who proved the first factor.
            client: where the login comes from.
            method: how the first factor was proved (``"password"``, ``"oauth:github"``).
        """
        ...


class AuthService(Generic[UserT]):
    """Turns credentials into sessions and tokens, with rate limits and an audit trail."""

    def __init__(
        self,
        users: UserService[UserT],
        sessions: SessionManager,
        tokens: TokenCodec,
        *,
        limiter: RateLimiter,
        audit: AuditLog,
        hooks: Hooks[UserT],
        settings: AuthSettings,
        recovery: AccountRecovery[UserT] | None = None,
    ) -> None:
        self.second_factor: SecondFactorGate[UserT] | None = None
        """Set by a second-factor feature (``saaskit.mfa``): every primary login goes
        through it (:meth:`finish_login`)."""
        self.users = users
        self.recovery = recovery
        self.sessions = sessions
        self.tokens = tokens
        self.limiter = limiter
        self.audit = audit
        self.hooks = hooks
        self.settings = settings

    async def register(
        self,
        email: str,
        password: str | None,
        *,
        full_name: str | None = None,
        extra: Mapping[str, Any] | None = None,
        client: ClientInfo = NO_CLIENT,
        send_verification: bool | None = None,
        verified: bool = False,
    ) -> UserT:
        """Create an account (rate limited per client IP).

        Every caller gets the same rules as ``POST /auth/register``: the audit event,
        the verification email (``auth.send_verification_on_register``, or
        ``send_verification`` to decide per call: an invitation flow whose link already
        proves the address passes False), then the host's ``after_register`` hooks.
        """
        await self.limiter.hit(RateLimitRule.REGISTER_IP, client.ip)
        user = await self.users.create(
            email, password, full_name=full_name, extra=extra, is_verified=verified
        )
        recorder().registration()
        await self.audit.record(
            AuditAction.REGISTER, actor_id=user.id, target_id=user.id, client=client
        )
        if send_verification is None:
            send_verification = self.settings.send_verification_on_register
        if send_verification and self.recovery is not None:
            await self.recovery.send_verification(user)
        await self.hooks.emit_event("after_register", user, client)
        return user

    async def login(
        self, email: str, password: str, *, client: ClientInfo = NO_CLIENT
    ) -> tuple[UserT, TokenPair]:
        """Check the credentials and open a session.

        Every attempt counts against the account (known or not) and the client IP
        before the password is checked, so parallel guesses cannot outrun the limit;
        a successful login clears the account's count.
        """
        account = normalize_email(email)
        try:
            await self.limiter.hit(RateLimitRule.LOGIN_ACCOUNT, account)
            await self.limiter.hit(RateLimitRule.LOGIN_IP, client.ip)
        except RateLimited:
            recorder().login("locked")
            raise
        try:
            user = await self.users.authenticate(account, password)
        except InvalidCredentials:
            recorder().login("failed")
            await self.audit.record(
                AuditAction.LOGIN, outcome="failure", client=client, detail={"email": account}
            )
            raise
        await self.limiter.reset(RateLimitRule.LOGIN_ACCOUNT, account)
        await self.limiter.forgive(RateLimitRule.LOGIN_IP, client.ip)
        if self.settings.require_verified_login and not user.is_verified:
            raise EmailNotVerified()
        return user, await self.finish_login(user, client=client, method=PASSWORD)

    async def finish_login(
        self,
        user: UserT,
        *,
        client: ClientInfo = NO_CLIENT,
        method: str = PASSWORD,
        multi_factor: bool = False,
    ) -> TokenPair:
        """The end of every primary login: the second factor, or the session and tokens.

        Call it once the user proved a first factor (password, an OAuth provider, a
        passkey used as the only factor). When a second-factor feature says the account
        needs one, no session is opened: :class:`~saaskit.exceptions.MfaRequired` carries
        the challenge the client completes; otherwise :meth:`start_session`.

        Args:
            user: who proved the first factor.
            client: the request's IP and user agent.
            method: the login method, recorded on the session and the audit event.
            multi_factor: the proof was already more than one factor (a passkey with user
                verification: the device and its PIN or biometric), so no second step.

        Raises:
            MfaRequired: the account has a second factor (403 ``mfa_required``).
        """
        if self.second_factor is not None and not multi_factor:
            challenge = await self.second_factor.begin_second_factor(
                user, client=client, method=method
            )
            if challenge is not None:
                recorder().login("mfa_required")
                raise MfaRequired(challenge)
        return await self.start_session(user, client=client, method=method)

    async def start_session(
        self, user: UserT, *, client: ClientInfo = NO_CLIENT, method: str = PASSWORD
    ) -> TokenPair:
        """Open a login session for ``user`` and issue its token pair, audited.

        No credential is checked here: callers are :meth:`finish_login` and a completed
        second factor (``saaskit.mfa``).
        """
        session, jti = await self.sessions.open(
            user.id,
            ip=client.ip,
            user_agent=client.user_agent,
            also=self.users.cache.entries(user),
        )
        await self.audit.record(
            AuditAction.LOGIN,
            actor_id=user.id,
            target_id=user.id,
            client=client,
            detail=None if method == PASSWORD else {"method": method},
        )
        await self.hooks.emit_event("after_login", user, client)
        recorder().login("ok")
        return self.issue(session, jti)

    async def refresh(self, refresh_token: str, *, client: ClientInfo = NO_CLIENT) -> TokenPair:
        """Rotate a refresh token into a new pair (single use; reuse revokes the session)."""
        claims = self.tokens.decode(refresh_token, "refresh")
        await self.limiter.hit(RateLimitRule.REFRESH_SESSION, claims.session_id)
        try:
            session, jti = await self.sessions.rotate(claims.session_id, claims.user_id, claims.jti)
        except RefreshTokenReused:
            recorder().refresh("reused")
            recorder().revocation("reuse")
            await self.audit.record(
                AuditAction.REFRESH_TOKEN_REUSE,
                outcome="failure",
                target_id=claims.user_id,
                client=client,
                detail={"session_id": claims.session_id},
            )
            raise
        if session.actor_id is not None:
            actor = await self.users.get(session.actor_id)
            if actor is None or not actor.is_active or not actor.is_superuser:
                # Its superuser was demoted or deactivated: the impersonation ends here.
                await self.sessions.revoke(session.id, session.user_id)
                raise InvalidToken("The impersonation has ended: its superuser may no longer act.")
        recorder().refresh("ok")
        return self.issue(session, jti)

    async def reauthenticate(
        self, session: RefreshSession, password: str, *, client: ClientInfo = NO_CLIENT
    ) -> int:
        """Prove the password again in ``session``.

        Returns until when (epoch seconds) the session counts as recently authenticated.

        One mechanism for every security-sensitive action (changing the email, deleting
        the account, and later features): a login or this call at most
        ``auth.reauthentication_minutes`` ago. Refreshing tokens never renews it, so a
        stolen refresh token does not open these actions. Attempts count against the
        account like logins do, so a stolen access token cannot guess the password.
        """
        user = await self.users.get(session.user_id)  # the cached user holds no hash
        if user is None:
            raise UserNotFound()
        await self.limiter.hit(RateLimitRule.LOGIN_ACCOUNT, user.email)
        await self.limiter.hit(RateLimitRule.LOGIN_IP, client.ip)
        # An account without a password (a provider's) pays a dummy verify and fails.
        hashed = user.hashed_password if has_usable_password(user.hashed_password) else None
        ok, _ = await self.users.passwords.verify(password, hashed)
        if not ok:
            await self.audit.record(
                AuditAction.REAUTHENTICATED,
                outcome="failure",
                actor_id=user.id,
                target_id=user.id,
                client=client,
            )
            raise InvalidCredentials("The password is incorrect.")
        await self.limiter.reset(RateLimitRule.LOGIN_ACCOUNT, user.email)
        await self.limiter.forgive(RateLimitRule.LOGIN_IP, client.ip)
        if not await self.sessions.mark_authenticated(session):
            raise InvalidToken("The session has ended; log in again.")
        await self.audit.record(
            AuditAction.REAUTHENTICATED, actor_id=user.id, target_id=user.id, client=client
        )
        return session.authenticated_at + self.reauthentication_window

    @property
    def reauthentication_window(self) -> int:
        """Seconds a login or a re-authentication counts as recent."""
        return self.settings.reauthentication_minutes * 60

    async def logout(
        self, session_id: str, user_id: int, *, client: ClientInfo = NO_CLIENT
    ) -> None:
        """End one session of ``user_id`` and audit it."""
        await self.sessions.revoke(session_id, user_id)
        recorder().revocation("logout")
        await self.audit.record(
            AuditAction.LOGOUT, actor_id=user_id, target_id=user_id, client=client
        )

    async def revoke_session(
        self, session_id: str, user_id: int, *, client: ClientInfo = NO_CLIENT
    ) -> None:
        """End one of the user's sessions (``DELETE /auth/sessions/{id}``), audited.

        Raises :class:`~saaskit.exceptions.SessionNotFound` for a session that is not the
        user's (another user's id is not found either).
        """
        await self.sessions.revoke_owned(session_id, user_id)
        await self.audit.record(
            AuditAction.SESSION_REVOKED,
            actor_id=user_id,
            target_id=user_id,
            client=client,
            detail={"session_id": session_id},
        )

    async def revoke(
        self,
        token: str,
        *,
        hint: TokenType | None = None,
        client: ClientInfo = NO_CLIENT,
    ) -> bool:
        """End the session of a refresh or access token (RFC 7009); False if there was none.

        ``hint`` is the type to try first; the other is tried next. A malformed, expired,
        foreign or already revoked token is not an error, so a caller learns nothing about
        a token it presents. Only a session that names the token's user is ended.
        """
        kinds: tuple[TokenType, TokenType] = (
            ("access", "refresh") if hint == "access" else ("refresh", "access")
        )
        for kind in kinds:
            try:
                claims = self.tokens.decode(token, kind)
            except InvalidToken:
                continue
            session = await self.sessions.get(claims.session_id, claims.user_id)
            if session is None:
                return False
            await self.logout(session.id, session.user_id, client=client)
            return True
        return False

    async def logout_all(self, user_id: int, *, client: ClientInfo = NO_CLIENT) -> int:
        """End every session of ``user_id`` and audit it.

        Returns:
            How many sessions ended.
        """
        ended = await self.sessions.revoke_all(user_id)
        recorder().revocation("logout_all", ended)
        await self.audit.record(
            AuditAction.LOGOUT_ALL,
            actor_id=user_id,
            target_id=user_id,
            client=client,
            detail={"sessions": ended},
        )
        return ended

    def issue(self, session: RefreshSession, jti: str) -> TokenPair:
        """The access/refresh pair for ``session``; refresh expires with the session.

        An impersonation session's tokens carry its superuser in the ``act`` claim.
        """
        now = int(time.time())
        access_exp = min(now + self.tokens.access_ttl, session.expires_at)
        access, _ = self.tokens.issue(
            "access",
            user_id=session.user_id,
            session_id=session.id,
            expires_at=access_exp,
            actor_id=session.actor_id,
        )
        refresh, _ = self.tokens.issue(
            "refresh",
            user_id=session.user_id,
            session_id=session.id,
            expires_at=session.expires_at,
            jti=jti,
            actor_id=session.actor_id,
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=access_exp - now,
            refresh_expires_in=session.expires_at - now,
        )

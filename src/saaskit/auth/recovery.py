"""Email verification, password reset and email change: single-use, expiring, user-bound links.

Every token is a signed JWT with its own audience. A verification token is bound to the
email it was sent to; a reset token to the password hash at the time of the request, so
it dies as soon as the password changes; an email-change token to the account's current
address and the new one, so it dies if the address changes another way first. Each
token's ``jti`` is also claimed in the store when used, so even a still-valid token
works once.

Changing the email is a takeover path (a stolen access token, then "forgot password" to
the thief's address), so it takes three things: a recently re-authenticated session (the
caller checks it), a confirmation link opened from the *new* address, and a notice to
the *old* one once the switch is made.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any, Generic, TypeVar

from saaskit.audit.service import AuditAction, AuditLog
from saaskit.auth.tokens import TokenCodec
from saaskit.db.mixins import normalize_email
from saaskit.exceptions import (
    EmailAlreadyRegistered,
    InvalidInput,
    InvalidLinkToken,
    InvalidToken,
    ServiceUnavailable,
)
from saaskit.hooks import Hooks
from saaskit.ratelimit import RateLimiter, RateLimitRule
from saaskit.settings import AuthSettings
from saaskit.store import Store
from saaskit.tasks.definitions import (
    CHANGE_EMAIL,
    EMAIL_CHANGED,
    PASSWORD_CHANGED_EMAIL,
    RESET_EMAIL,
    VERIFY_EMAIL,
    ChangeEmail,
    EmailChanged,
    PasswordChangedEmail,
    ResetEmail,
    VerifyEmail,
)
from saaskit.tasks.runner import TaskRunner
from saaskit.tasks.typed import TaskDef, enqueue
from saaskit.types import ClientInfo, UserT
from saaskit.users.service import UserService

NO_CLIENT = ClientInfo()
logger = logging.getLogger("saaskit.auth")

P = TypeVar("P")


class AccountRecovery(Generic[UserT]):
    """Verification and reset flows; emails go out through the task runner."""

    def __init__(
        self,
        users: UserService[UserT],
        tokens: TokenCodec,
        store: Store,
        runner: TaskRunner,
        *,
        limiter: RateLimiter,
        audit: AuditLog,
        hooks: Hooks[UserT],
        settings: AuthSettings,
        secret_key: str,
    ) -> None:
        self.users = users
        self.tokens = tokens
        self.store = store
        self.runner = runner
        self.limiter = limiter
        self.audit = audit
        self.hooks = hooks
        self.settings = settings
        self._key = secret_key.encode()

    def _fingerprint(self, hashed_password: str) -> str:
        return hmac.new(self._key, hashed_password.encode(), hashlib.sha256).hexdigest()[:32]

    async def _limit(self, email: str, client: ClientInfo) -> str:
        account = normalize_email(email)
        await self.limiter.hit(RateLimitRule.FORGOT_IP, client.ip)
        await self.limiter.hit(RateLimitRule.FORGOT_EMAIL, account)
        return account

    async def send_verification(self, user: UserT) -> None:
        """Email ``user`` a verification link (no rate limit: callers apply theirs)."""
        token = self.tokens.issue_action(
            "verify",
            user_id=user.id,
            ttl=self.settings.verify_token_hours * 3600,
            claims={"email": user.email},
        )
        await self._send_email(
            VERIFY_EMAIL, VerifyEmail(to=user.email, token=token, name=user.full_name)
        )

    async def request_verification(self, email: str, *, client: ClientInfo = NO_CLIENT) -> None:
        """Send a new link if the account exists and is unverified; silent otherwise."""
        account = await self._limit(email, client)
        user = await self.users.get_by_email(account)
        if user is not None and user.is_active and not user.is_verified:
            await self.send_verification(user)

    async def verify(self, token: str, *, client: ClientInfo = NO_CLIENT) -> UserT:
        """Mark the user verified; the token must match the user's current email."""
        claims = self._decode(token, "verify")
        user = await self.users.get(claims["sub"])
        if user is None or not user.is_active or user.email != claims.get("email"):
            raise InvalidLinkToken()
        await self._claim(claims)
        if not user.is_verified:
            user = await self.users.update(user.id, {"is_verified": True})
            await self.audit.record(
                AuditAction.EMAIL_VERIFIED, actor_id=user.id, target_id=user.id, client=client
            )
            await self.hooks.emit_event("after_verify", user, client)
        return user

    async def forgot_password(self, email: str, *, client: ClientInfo = NO_CLIENT) -> None:
        """Email a reset link to an active account; the caller answers the same either way."""
        account = await self._limit(email, client)
        user = await self.users.get_by_email(account)
        if user is None or not user.is_active:
            return
        minutes = self.settings.reset_token_minutes
        token = self.tokens.issue_action(
            "reset",
            user_id=user.id,
            ttl=minutes * 60,
            claims={"pwd": self._fingerprint(user.hashed_password)},
        )
        await self._send_email(
            RESET_EMAIL,
            ResetEmail(to=user.email, token=token, minutes=minutes, name=user.full_name),
        )
        await self.hooks.emit_event("after_forgot_password", user, token, client)

    async def reset_password(
        self, token: str, password: str, *, client: ClientInfo = NO_CLIENT
    ) -> None:
        """Set a new password from a reset link; ends every session, logs nobody in."""
        claims = self._decode(token, "reset")
        user = await self.users.get(claims["sub"])
        if user is None or not user.is_active:
            raise InvalidLinkToken()
        if not hmac.compare_digest(self._fingerprint(user.hashed_password), claims.get("pwd", "")):
            raise InvalidLinkToken()
        self.users.passwords.check_policy(password)  # a weak password must not burn the link
        await self._claim(claims)
        await self.users.set_password(user.id, password)
        await self.audit.record(
            AuditAction.PASSWORD_RESET, actor_id=user.id, target_id=user.id, client=client
        )
        await self._send_email(
            PASSWORD_CHANGED_EMAIL, PasswordChangedEmail(to=user.email, name=user.full_name)
        )
        await self.hooks.emit_event("after_reset_password", user, client)

    async def request_email_change(
        self, user: UserT, new_email: str, *, client: ClientInfo = NO_CLIENT
    ) -> None:
        """Email a confirmation link to ``new_email``; nothing changes until it is opened.

        Call it only for a recently re-authenticated session (the route does). Rate
        limited like the other emails, per client IP and per new address.

        Raises:
            InvalidInput: ``new_email`` is already the account's address.
            EmailAlreadyRegistered: another account uses ``new_email`` (registration
                tells the same, so this reveals nothing new).
        """
        new = await self._limit(new_email, client)
        if new == user.email:
            raise InvalidInput("This is already the account's email address.")
        if await self.users.get_by_email(new) is not None:
            raise EmailAlreadyRegistered()
        hours = self.settings.verify_token_hours
        token = self.tokens.issue_action(
            "email_change",
            user_id=user.id,
            ttl=hours * 3600,
            claims={"email": user.email, "new_email": new},
        )
        await self._send_email(
            CHANGE_EMAIL,
            ChangeEmail(to=new, token=token, minutes=hours * 60, name=user.full_name),
        )
        await self.audit.record(
            AuditAction.EMAIL_CHANGE_REQUESTED,
            actor_id=user.id,
            target_id=user.id,
            client=client,
            detail={"new_email": new},
        )

    async def confirm_email_change(self, token: str, *, client: ClientInfo = NO_CLIENT) -> UserT:
        """Switch the account to the address the link was sent to, and tell the old one.

        The link works once, and only while the account still has the address it had
        when the change was asked for.
        """
        claims = self._decode(token, "email_change")
        user = await self.users.get(claims["sub"])
        if user is None or not user.is_active or user.email != claims.get("email"):
            raise InvalidLinkToken()
        old, new = user.email, str(claims.get("new_email", ""))
        await self._claim(claims)
        try:
            user = await self.users.change_email(user.id, new)
        except EmailAlreadyRegistered:
            raise EmailAlreadyRegistered(
                "Another account registered this address meanwhile; the link cannot be used."
            ) from None
        await self.audit.record(
            AuditAction.EMAIL_CHANGED,
            actor_id=user.id,
            target_id=user.id,
            client=client,
            detail={"old_email": old, "new_email": new},
        )
        await self._send_email(
            EMAIL_CHANGED, EmailChanged(to=old, new_email=new, name=user.full_name)
        )
        await self.hooks.emit_event(
            "after_update", user, {"email": new, "is_verified": True}, client
        )
        return user

    async def _send_email(self, task: TaskDef[P], payload: P) -> None:
        """Queue an email; a task queue outage is logged, never shown to the client.

        Answering 503 only when the account exists would tell who is registered, and a
        registration must not fail after its user row was written. The user can ask for
        the email again once the queue is back.
        """
        try:
            await enqueue(self.runner, task, payload)
        except ServiceUnavailable:
            logger.error("could not queue %s: the task queue is unavailable", task.name)

    def _decode(self, token: str, kind: Any) -> dict[str, Any]:
        try:
            return self.tokens.decode_action(token, kind)
        except InvalidToken as error:
            raise InvalidLinkToken() from error

    async def _claim(self, claims: dict[str, Any]) -> None:
        ttl = max(1, int(claims["exp"]) - int(claims["iat"]))
        if not await self.store.claim(f"used-token:{claims['jti']}", ttl):
            raise InvalidLinkToken()

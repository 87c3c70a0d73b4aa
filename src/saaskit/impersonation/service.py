"""Impersonation rules: who may act as whom, for how long, and the audit trail. No HTTP.

A superuser starts an impersonation of a user with a reason; the user gets a new login
session of its own kind: it records the superuser (``actor_id``), lasts
``impersonation.ttl_minutes`` at most (refreshing never extends it) and its tokens carry
the superuser in the RFC 8693 ``act`` claim. The session reader checks that claim against
the session on every request, and that its superuser is still an active superuser (see
:mod:`saaskit.auth.credentials`). What such a token may not do (the password, email, 2FA,
API keys, billing, administration) is refused by the kit's dependencies
(``impersonation_forbidden``), not here. Every event made with it carries the superuser
(``audit_events.impersonator_id``), and :class:`ImpersonationAuditMiddleware` records each
of its writes, whatever the route (the host's included).

Modelled on django-hijack (POST only, superusers only, never another superuser nor an
inactive user, start and end signals) and laravel-impersonate (routes that refuse an
impersonation); unlike both it keeps no state in a cookie session: the impersonation is a
token pair, so an API client and the admin console use it alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic

from saaskit.audit.service import AuditLog
from saaskit.auth.service import AuthService
from saaskit.auth.sessions import RefreshSession, SessionManager
from saaskit.exceptions import UserNotFound
from saaskit.impersonation.errors import ImpersonationNotAllowed, NotImpersonating
from saaskit.impersonation.schemas import ImpersonationSettings, ImpersonationStarted
from saaskit.types import ClientInfo, UserT
from saaskit.users.service import UserService

__all__ = ["ACTIONS", "ENDED", "REQUEST", "STARTED", "ImpersonationService"]

STARTED = "impersonation_started"
"""A superuser started acting as a user (``detail``: reason, session id, end)."""
ENDED = "impersonation_ended"
"""An impersonation was ended before its expiry (``detail``: session id)."""
REQUEST = "impersonation_request"
"""A write (non-GET request) made with an impersonation token (method, path, status)."""
ACTIONS = (STARTED, ENDED, REQUEST)

NO_CLIENT = ClientInfo()


@dataclass(frozen=True)
class Impersonation:
    """One live impersonation session, as the admin screens list them."""

    session: RefreshSession
    user_id: int
    impersonator_id: int


class ImpersonationService(Generic[UserT]):
    """Starts and ends impersonations (the kit's users, sessions, tokens and audit log)."""

    def __init__(
        self,
        users: UserService[UserT],
        sessions: SessionManager,
        auth: AuthService[UserT],
        audit: AuditLog | Any,
        settings: ImpersonationSettings,
    ) -> None:
        self.users = users
        self.sessions = sessions
        self.auth = auth
        self.audit = audit
        self.settings = settings

    @property
    def ttl_seconds(self) -> int:
        """How long an impersonation lasts."""
        return self.settings.ttl_minutes * 60

    async def start(
        self, admin: UserT, user_id: int, reason: str, *, client: ClientInfo = NO_CLIENT
    ) -> ImpersonationStarted:
        """Open an impersonation session of ``user_id`` for ``admin``.

        The caller has checked that ``admin`` is an active superuser acting for themselves
        (``kit.dependencies.session_superuser`` refuses impersonation tokens); this is
        checked again, so a host calling the service directly gets the same rules.

        Raises:
            UserNotFound: no such user.
            ImpersonationNotAllowed: the user is a superuser or inactive, or ``admin`` is
                not an active superuser.
        """
        if not (admin.is_superuser and admin.is_active):
            raise ImpersonationNotAllowed("Only an active superuser may impersonate.")
        user = await self.users.get(user_id)
        if user is None:
            raise UserNotFound()
        if user.is_superuser or not user.is_active or user.id == admin.id:
            await self.audit.record(
                STARTED,
                outcome="failure",
                actor_id=admin.id,
                target_id=user.id,
                client=client,
                detail={"reason": reason},
            )
            raise ImpersonationNotAllowed()
        session, jti = await self.sessions.open(
            user.id,
            ip=client.ip,
            user_agent=client.user_agent,
            actor_id=admin.id,
            lifetime=self.ttl_seconds,
        )
        tokens = self.auth.issue(session, jti)
        await self.audit.record(
            STARTED,
            actor_id=admin.id,
            target_id=user.id,
            client=client,
            impersonator_id=admin.id,
            detail={
                "reason": reason,
                "session_id": session.id,
                "expires_at": _iso(session.expires_at),
            },
        )
        return ImpersonationStarted(
            **tokens.model_dump(),
            session_id=session.id,
            user_id=user.id,
            impersonator_id=admin.id,
            ends_at=datetime.fromtimestamp(session.expires_at, UTC),
        )

    async def end(
        self,
        session_id: str,
        user_id: int,
        *,
        by: int,
        client: ClientInfo = NO_CLIENT,
    ) -> None:
        """End the impersonation session ``session_id`` of ``user_id``.

        Args:
            session_id: the impersonation's session.
            user_id: the impersonated user.
            by: who ends it (the impersonating superuser, or another superuser).
            client: where the request came from.

        Raises:
            NotImpersonating: the session is not an impersonation (or has ended).
        """
        session = await self.sessions.get(session_id, user_id)
        if session is None or session.actor_id is None:
            raise NotImpersonating()
        await self.sessions.revoke(session_id, user_id)
        await self.audit.record(
            ENDED,
            actor_id=by,
            target_id=user_id,
            client=client,
            impersonator_id=session.actor_id,
            detail={"session_id": session_id, "started_at": _iso(session.created_at)},
        )

    async def active(self, user_id: int) -> list[Impersonation]:
        """The live impersonation sessions of ``user_id``."""
        return [
            Impersonation(session, user_id, session.actor_id)
            for session in await self.sessions.for_user(user_id)
            if session.actor_id is not None and session.expires_at > time.time()
        ]


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()

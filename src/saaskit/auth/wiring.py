"""How the kit builds authentication and users.

Tokens, sessions, the user service and cache, account recovery, the auth service, the
credential readers and the dependencies. Authentication is the core every feature's
routes depend on (``kit.current_active_user``), so the kit builds it before any feature,
with :func:`build_auth`; the parts land on the kit under their old names (``kit.auth``,
``kit.users``, ``kit.sessions``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.audit.service import AuditLog
from saaskit.auth.credentials import Authenticator, SessionTokenReader
from saaskit.auth.dependencies import AuthDependencies, build_dependencies
from saaskit.auth.passwords import PasswordHasher
from saaskit.auth.recovery import AccountRecovery
from saaskit.auth.service import AuthService
from saaskit.auth.sessions import SessionManager
from saaskit.auth.tokens import TokenCodec
from saaskit.db.replicas import ReadRouter
from saaskit.hooks import Hooks
from saaskit.ratelimit import RateLimiter
from saaskit.settings import SaaSKitSettings
from saaskit.signing_key import signing_key
from saaskit.store import Store
from saaskit.tasks.runner import TaskRunner
from saaskit.types import UserT
from saaskit.users.cache import UserCache
from saaskit.users.service import UserService


@dataclass(frozen=True)
class AuthParts(Generic[UserT]):
    """What :func:`build_auth` makes, each one a kit attribute of the same name."""

    tokens: TokenCodec
    sessions: SessionManager
    users: UserService[UserT]
    recovery: AccountRecovery[UserT]
    auth: AuthService[UserT]
    authenticator: Authenticator[UserT]
    dependencies: AuthDependencies[UserT]


def build_auth(
    settings: SaaSKitSettings,
    user_model: type[UserT],
    *,
    store: Store,
    session_factory: async_sessionmaker[AsyncSession],
    reads: ReadRouter,
    passwords: PasswordHasher,
    runner: TaskRunner,
    limiter: RateLimiter,
    audit: AuditLog,
    hooks: Hooks[UserT],
) -> AuthParts[UserT]:
    """Build authentication and users from the kit's settings and shared parts.

    Args:
        settings: the kit's settings (``auth``, ``store``, ``api_prefix``).
        user_model: the host's user model.
        store: the shared store (sessions, the user cache, one-time tokens).
        session_factory: database sessions on the primary.
        reads: lag-tolerant reads (user lists) on a replica when there is one.
        passwords: the password hasher.
        runner: the task runner (verification and reset emails).
        limiter: the kit's rate limiter.
        audit: the audit log.
        hooks: the kit's hooks (registration, login, ... events).

    Returns:
        The parts, for the kit to keep.
    """
    auth = settings.auth
    secret = signing_key(settings)
    tokens = TokenCodec(
        secret,
        issuer=auth.issuer,
        audience=auth.audience,
        access_ttl=auth.access_token_minutes * 60,
    )
    legacy = settings.store.legacy_session_keys
    sessions = SessionManager(
        store,
        auth.refresh_token_days * 86400,
        reuse_grace=auth.refresh_reuse_grace_seconds,
        legacy_keys=legacy,
    )
    cache = UserCache(store, user_model, auth.user_cache_seconds, legacy_keys=legacy)
    users: UserService[UserT] = UserService(
        user_model,
        session_factory,
        passwords,
        sessions,
        cache,
        audit=audit,
        hooks=hooks,
        reads=reads,
    )
    recovery: AccountRecovery[UserT] = AccountRecovery(
        users,
        tokens,
        store,
        runner,
        limiter=limiter,
        audit=audit,
        hooks=hooks,
        settings=auth,
        secret_key=secret,
    )
    service: AuthService[UserT] = AuthService(
        users,
        sessions,
        tokens,
        limiter=limiter,
        audit=audit,
        hooks=hooks,
        settings=auth,
        recovery=recovery,
    )
    session_reader = SessionTokenReader(
        tokens,
        store,
        sessions,
        users,
        cache,
        token_url=f"{settings.api_prefix}/auth/token",  # the OAuth 2.0 endpoint
    )
    authenticator: Authenticator[UserT] = Authenticator([session_reader])
    dependencies = build_dependencies(
        authenticator, reauthentication_seconds=auth.reauthentication_minutes * 60
    )
    return AuthParts(tokens, sessions, users, recovery, service, authenticator, dependencies)

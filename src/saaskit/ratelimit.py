"""Fixed-window rate limits kept in the store, so every app process shares them.

One limiter for every feature (auth's login and reset limits, billing's eager sync).
Subjects (emails, IPs, session ids) are hashed into the key: the store never holds a
readable email, and an unknown email is counted exactly like a real one.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import assert_never

from saaskit.exceptions import RateLimited
from saaskit.observability.metrics import recorder
from saaskit.settings import RateLimit, RateLimitSettings
from saaskit.store import Store


class RateLimitRule(StrEnum):
    """The limits saaskit applies.

    Each is tuned by the field of the same name in
    :class:`~saaskit.settings.RateLimitSettings` (``SAASKIT_RATE_LIMIT__<RULE>__LIMIT``).
    """

    LOGIN_ACCOUNT = "login_account"
    LOGIN_IP = "login_ip"
    REGISTER_IP = "register_ip"
    FORGOT_EMAIL = "forgot_email"
    FORGOT_IP = "forgot_ip"
    REFRESH_SESSION = "refresh_session"
    BILLING_SYNC = "billing_sync"


def _key(rule: str, subject: str) -> str:
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"rl:{rule}:{digest}"  # plain names from older code too


class RateLimiter:
    """Counts hits per (rule, subject) and raises :class:`RateLimited` past the limit."""

    def __init__(self, store: Store, settings: RateLimitSettings) -> None:
        self.store = store
        self.settings = settings

    def rule(self, rule: RateLimitRule) -> RateLimit:
        """The configured limit and window of ``rule``."""
        settings = self.settings
        match RateLimitRule(rule):
            case RateLimitRule.LOGIN_ACCOUNT:
                return settings.login_account
            case RateLimitRule.LOGIN_IP:
                return settings.login_ip
            case RateLimitRule.REGISTER_IP:
                return settings.register_ip
            case RateLimitRule.FORGOT_EMAIL:
                return settings.forgot_email
            case RateLimitRule.FORGOT_IP:
                return settings.forgot_ip
            case RateLimitRule.REFRESH_SESSION:
                return settings.refresh_session
            case RateLimitRule.BILLING_SYNC:
                return settings.billing_sync
            case unknown:
                assert_never(unknown)

    async def hit(self, rule: RateLimitRule, subject: str | None) -> None:
        """Count one hit; raise :class:`RateLimited` (with Retry-After) when over."""
        await self.hit_limit(RateLimitRule(rule).value, self.rule(rule), subject)

    async def hit_limit(
        self, name: str, limit: RateLimit, subject: str | None, message: str | None = None
    ) -> None:
        """Count one hit of a feature's own limit; raise :class:`RateLimited` when over.

        The kit's rules go through :meth:`hit`; a feature names its own (``orgs_invite``)
        and passes the limit from its settings section, so it needs no core rule.

        Args:
            name: the limit's name, in its store keys and the rate-limited metric.
            limit: how many hits per window.
            subject: who is counted (``None``: nothing is counted).
            message: the error's message (default: the generic one).

        Raises:
            RateLimited: ``subject`` is over ``limit`` (with the seconds to wait).
        """
        if not self.settings.enabled or subject is None:
            return
        count, retry_after = await self.store.hit(_key(name, subject), limit.window_seconds)
        if count > limit.limit:
            recorder().rate_limited(name)
            raise RateLimited(retry_after, message)

    async def reset_limit(self, name: str, subject: str | None) -> None:
        """Forget every hit of ``subject`` on a feature's own limit ``name``."""
        if self.settings.enabled and subject is not None:
            await self.store.delete(_key(name, subject))

    async def forgive(self, rule: RateLimitRule, subject: str | None) -> None:
        """Take back one hit (a login that turned out to be right)."""
        if self.settings.enabled and subject is not None:
            await self.store.incr(_key(RateLimitRule(rule).value, subject), -1)

    async def reset(self, rule: RateLimitRule, subject: str | None) -> None:
        """Forget every hit of ``subject`` (a successful login clears its account)."""
        if self.settings.enabled and subject is not None:
            await self.store.delete(_key(RateLimitRule(rule).value, subject))

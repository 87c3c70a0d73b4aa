"""Fixed-window rate limits kept in the store, so every app process shares them.

Subjects (emails, IPs, session ids) are hashed into the key: the store never holds a
readable email, and an unknown email is counted exactly like a real one.
"""

from __future__ import annotations

import hashlib

from saaskit.exceptions import RateLimited
from saaskit.observability.metrics import recorder
from saaskit.settings import RateLimit, RateLimitSettings
from saaskit.store import Store


def _key(rule: str, subject: str) -> str:
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"rl:{rule}:{digest}"


class RateLimiter:
    """Counts hits per (rule, subject) and raises :class:`RateLimited` past the limit."""

    def __init__(self, store: Store, settings: RateLimitSettings) -> None:
        self.store = store
        self.settings = settings

    def rule(self, name: str) -> RateLimit:
        rule: RateLimit = getattr(self.settings, name)
        return rule

    async def hit(self, name: str, subject: str | None) -> None:
        """Count one hit; raise :class:`RateLimited` (with Retry-After) when over."""
        if not self.settings.enabled or subject is None:
            return
        rule = self.rule(name)
        count, retry_after = await self.store.hit(_key(name, subject), rule.window_seconds)
        if count > rule.limit:
            recorder().rate_limited(name)
            raise RateLimited(retry_after)

    async def forgive(self, name: str, subject: str | None) -> None:
        """Take back one hit (a login that turned out to be right)."""
        if self.settings.enabled and subject is not None:
            await self.store.incr(_key(name, subject), -1)

    async def reset(self, name: str, subject: str | None) -> None:
        if self.settings.enabled and subject is not None:
            await self.store.delete(_key(name, subject))

"""Login challenges: what a password login gets instead of tokens when 2FA is on.

A challenge token is 256 random bits with an ``mfa_`` prefix, not a JWT: no credential
reader accepts it (the session reader wants a signed JWT, the API key reader its own
prefix), so it can never be used as a bearer token. The store keeps only its SHA-256,
with the user's id and the first factor's method, for ``challenge_ttl_seconds``. It is
spent by deleting its key: of two requests completing one challenge, exactly one deletes
it (the store's ``DELETE`` answers how many keys it removed) and only that one gets
tokens.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass

from saaskit.store import Store

__all__ = ["Challenge", "ChallengeStore"]

PREFIX = "mfa_"
_FORMAT = re.compile(r"mfa_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True, slots=True)
class Challenge:
    """A pending second step of a login."""

    key: str
    user_id: int
    method: str
    """How the first factor was proved (``"password"``, ``"oauth:github"``)."""


class ChallengeStore:
    """Issues, reads and spends challenges in the kit's store."""

    def __init__(self, store: Store, ttl: int) -> None:
        self.store = store
        self.ttl = ttl

    @staticmethod
    def _key(token: str) -> str:
        return "mfa:ch:" + hashlib.sha256(token.encode()).hexdigest()

    async def issue(self, user_id: int, method: str) -> str:
        """A new challenge token for ``user_id``."""
        token = PREFIX + secrets.token_urlsafe(32)
        value = json.dumps({"u": user_id, "m": method}).encode()
        await self.store.put(self._key(token), value, self.ttl)
        return token

    async def read(self, token: str) -> Challenge | None:
        """The live challenge ``token`` names, or None (malformed, expired or spent)."""
        if not _FORMAT.fullmatch(token):
            return None
        key = self._key(token)
        raw = await self.store.get(key)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return Challenge(key, int(data["u"]), str(data["m"]))
        except (ValueError, KeyError, TypeError):
            return None

    async def attempt(self, challenge: Challenge) -> int:
        """Count one code attempt on ``challenge``; returns the count so far."""
        return await self.store.incr(challenge.key + ":n", 1, ttl=self.ttl)

    async def spend(self, challenge: Challenge) -> bool:
        """Delete the challenge; True for the one caller that deleted it."""
        return await self.store.delete(challenge.key) == 1

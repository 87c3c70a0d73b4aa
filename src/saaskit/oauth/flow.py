"""The short-lived records of a login in flight: the flow's ``state`` and the handoff code.

Both live in the kit's store (Redis, or the in-process store), under the SHA-256 of the
secret (a store dump or a ``MONITOR`` shows no usable value), with a TTL, and are taken
once: the caller that deletes the key is the one that gets it, so two callbacks racing
with the same ``state`` (or two exchanges of one handoff code) cannot both succeed.

The flow is bound to the browser that started it: the start sets a random value in an
HttpOnly, ``SameSite=Lax`` cookie and the state record keeps its SHA-256; a callback
whose browser does not send the same cookie is refused (login CSRF: an attacker's
``state`` and ``code`` delivered to a victim's browser). The same cookie value is reused
by every flow a browser starts, so two tabs do not undo each other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Literal

from saaskit.store import Store

__all__ = ["FlowRecords", "FlowState", "Handoff", "digest", "new_secret"]

Mode = Literal["login", "link"]


def new_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(value: str) -> str:
    """The SHA-256 (hex) under which a secret is stored or compared."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FlowState:
    """A started login, kept until its callback (or its TTL)."""

    provider: str
    verifier: str
    nonce: str
    redirect_to: str
    browser: str
    mode: Mode = "login"
    user_id: int | None = None
    session_id: str | None = None
    """The login session that started a link (it must still be alive at the callback)."""

    def started_by(self, browser_cookie: str | None) -> bool:
        """Whether the callback's browser is the one that started the flow."""
        if not browser_cookie:
            return False
        return hmac.compare_digest(digest(browser_cookie), self.browser)


@dataclass(frozen=True)
class Handoff:
    """What a handoff code stands for: the user who logged in, and how."""

    user_id: int
    provider: str


class FlowRecords:
    """Stores and takes flow states and handoff codes."""

    def __init__(self, store: Store, *, state_ttl: int, handoff_ttl: int) -> None:
        self.store = store
        self.state_ttl = state_ttl
        self.handoff_ttl = handoff_ttl

    async def _take(self, key: str) -> bytes | None:
        raw = await self.store.get(key)
        if raw is None or await self.store.delete(key) != 1:
            return None  # unknown, expired, or another caller took it first
        return raw

    async def put_state(self, state: str, flow: FlowState) -> None:
        """Keep ``flow`` under ``state`` for the state TTL."""
        body = json.dumps(asdict(flow)).encode()
        await self.store.put(f"oauth:state:{digest(state)}", body, self.state_ttl)

    async def take_state(self, state: str) -> FlowState | None:
        """The flow of ``state``, once."""
        raw = await self._take(f"oauth:state:{digest(state)}")
        return None if raw is None else FlowState(**json.loads(raw))

    async def put_handoff(self, handoff: Handoff) -> str:
        """A new handoff code for ``handoff``."""
        code = new_secret()
        body = json.dumps(asdict(handoff)).encode()
        await self.store.put(f"oauth:handoff:{digest(code)}", body, self.handoff_ttl)
        return code

    async def take_handoff(self, code: str) -> Handoff | None:
        """What ``code`` stands for, once."""
        raw = await self._take(f"oauth:handoff:{digest(code)}")
        return None if raw is None else Handoff(**json.loads(raw))

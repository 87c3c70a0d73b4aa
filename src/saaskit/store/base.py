"""The store protocol: the small set of shared-state operations saaskit needs.

Refresh sessions, rate-limit counters, cached users and usage counters all live behind
this protocol. :class:`~saaskit.store.redis.RedisStore` shares them across processes;
:class:`~saaskit.store.memory.MemoryStore` keeps them in this process only.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Protocol, runtime_checkable

from saaskit.exceptions import ServiceUnavailable

Entry = tuple[str, bytes, int | None]
"""A value to store: ``(key, value, ttl in seconds or None)``."""


class CasResult(Enum):
    """Outcome of :meth:`Store.compare_and_set`."""

    SWAPPED = "swapped"
    MISMATCH = "mismatch"
    MISSING = "missing"


class StoreUnavailable(ServiceUnavailable):
    """The store (Redis) cannot be reached; requests that need it fail with 503."""

    message = "The session store is unavailable; try again shortly."


@runtime_checkable
class Store(Protocol):
    """Key/value operations with expiry. Keys are ``str``, values ``bytes``."""

    shared: bool
    """True when other processes see the same data (Redis)."""

    async def get(self, key: str) -> bytes | None:
        """The value of ``key``, ``None`` if missing or expired."""
        ...

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Values of several keys in one round trip."""
        ...

    async def put(self, key: str, value: bytes, ttl: int | None = None) -> None:
        """Store ``value``; ``ttl`` in seconds (``None``: no expiry)."""
        ...

    async def replace(self, key: str, value: bytes, ttl: int | None = None) -> bool:
        """Store ``value`` only if ``key`` exists (``SET ... XX``); True if it did.

        A record that was deleted meanwhile (a revoked session) stays deleted: an update
        never re-creates it.
        """
        ...

    async def delete(self, *keys: str) -> int:
        """Delete ``keys``; returns how many existed."""
        ...

    async def claim(self, key: str, ttl: int, value: bytes = b"1") -> bool:
        """Set ``key`` only if it does not exist yet; True if this call set it."""
        ...

    async def compare_and_set(
        self, key: str, expected: bytes, new: bytes, *, previous: tuple[str, int] | None = None
    ) -> CasResult:
        """Atomically replace ``key``'s value if it equals ``expected`` (keeps the TTL).

        With ``previous=(key2, ttl)`` a successful swap also stores ``expected`` at
        ``key2`` for ``ttl`` seconds, in the same atomic step.
        """
        ...

    async def hit(self, key: str, window: int) -> tuple[int, int]:
        """Count one hit in a fixed window of ``window`` seconds.

        Returns the count so far in the window and the seconds until it resets.
        """
        ...

    async def incr(self, key: str, amount: int, ttl: int | None = None) -> int:
        """Add ``amount`` and return the new value; ``ttl`` is set when the key is created."""
        ...

    async def incr_within(
        self, key: str, amount: int, maximum: int, ttl: int | None = None
    ) -> tuple[bool, int]:
        """Add ``amount`` only if the result stays at most ``maximum``, atomically.

        Returns whether it was added and the value after the call (unchanged when not):
        a refused addition never shows in the counter, not even for a moment.
        """
        ...

    async def set_add(self, key: str, member: str, ttl: int | None = None) -> None:
        """Add ``member`` to the set at ``key``; ``ttl`` (seconds) renews its expiry."""
        ...

    async def write_many(
        self,
        puts: Sequence[Entry] = (),
        set_adds: Sequence[tuple[str, str, int | None]] = (),
    ) -> None:
        """Several :meth:`put` and :meth:`set_add` calls in one round trip.

        ``puts`` are ``(key, value, ttl)``, ``set_adds`` ``(key, member, ttl)``; all are
        applied together (a ``MULTI`` block on Redis), so none is seen without the others.
        """
        ...

    async def set_remove(self, key: str, member: str) -> None:
        """Remove ``member`` from the set at ``key``."""
        ...

    async def set_members(self, key: str) -> set[str]:
        """The members of the set at ``key`` (empty if missing)."""
        ...

    async def ping(self) -> bool:
        """Whether the store answers (readiness)."""
        ...

    async def close(self) -> None:
        """Release the store's connections."""
        ...

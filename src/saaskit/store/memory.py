"""In-process store: the embedded default. One process only."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from saaskit.store.base import CasResult, Entry


class MemoryStore:
    """A dict with expiry. Every operation is atomic because none awaits.

    It is honest about its limits: data lives in this process, so two app processes
    (or uvicorn workers) do not share sessions or rate limits. Use Redis for that.

    Args:
        clock: seconds on a monotonic clock (default :func:`time.monotonic`); tests pass
            a fake one to let entries expire without sleeping.
    """

    shared = False

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._values: dict[str, tuple[bytes | int | set[str], float | None]] = {}
        self._clock = clock

    def _live(self, key: str) -> bytes | int | set[str] | None:
        item = self._values.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= self._clock():
            del self._values[key]
            return None
        return value

    def _expiry(self, ttl: int | None) -> float | None:
        return None if ttl is None else self._clock() + ttl

    def _ttl_left(self, key: str) -> int:
        expires = self._values[key][1]
        return 0 if expires is None else max(1, int(expires - self._clock() + 0.999))

    async def get(self, key: str) -> bytes | None:
        value = self._live(key)
        if isinstance(value, int):
            return str(value).encode()
        return value if isinstance(value, bytes) else None

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [await self.get(key) for key in keys]

    async def put(self, key: str, value: bytes, ttl: int | None = None) -> None:
        self._values[key] = (value, self._expiry(ttl))

    async def replace(self, key: str, value: bytes, ttl: int | None = None) -> bool:
        if self._live(key) is None:
            return False
        self._values[key] = (value, self._expiry(ttl))
        return True

    async def delete(self, *keys: str) -> int:
        removed = 0
        for key in keys:
            if self._live(key) is not None:
                removed += 1
            self._values.pop(key, None)
        return removed

    async def claim(self, key: str, ttl: int, value: bytes = b"1") -> bool:
        if self._live(key) is not None:
            return False
        self._values[key] = (value, self._expiry(ttl))
        return True

    async def compare_and_set(
        self, key: str, expected: bytes, new: bytes, *, previous: tuple[str, int] | None = None
    ) -> CasResult:
        current = self._live(key)
        if current is None:
            return CasResult.MISSING
        if current != expected:
            return CasResult.MISMATCH
        self._values[key] = (new, self._values[key][1])
        if previous is not None and previous[1] > 0:
            self._values[previous[0]] = (expected, self._expiry(previous[1]))
        return CasResult.SWAPPED

    async def hit(self, key: str, window: int) -> tuple[int, int]:
        current = self._live(key)
        if not isinstance(current, int):
            self._values[key] = (1, self._expiry(window))
            return 1, window
        self._values[key] = (current + 1, self._values[key][1])
        return current + 1, self._ttl_left(key)

    async def incr(self, key: str, amount: int, ttl: int | None = None) -> int:
        current = self._live(key)
        if isinstance(current, bytes) and current.lstrip(b"-").isdigit():
            current = int(current)  # like Redis INCRBY on a value written by put/claim
        if not isinstance(current, int):
            self._values[key] = (amount, self._expiry(ttl))
            return amount
        self._values[key] = (current + amount, self._values[key][1])
        return current + amount

    async def incr_within(
        self, key: str, amount: int, maximum: int, ttl: int | None = None
    ) -> tuple[bool, int]:
        current = self._live(key)
        value = int(current) if isinstance(current, int | bytes) else 0
        if value + amount > maximum:
            return False, value
        return True, await self.incr(key, amount, ttl)

    async def set_add(self, key: str, member: str, ttl: int | None = None) -> None:
        current = self._live(key)
        if not isinstance(current, set):
            self._values[key] = ({member}, self._expiry(ttl))
            return
        current.add(member)
        if ttl is not None:
            self._values[key] = (current, self._expiry(ttl))

    async def write_many(
        self,
        puts: Sequence[Entry] = (),
        set_adds: Sequence[tuple[str, str, int | None]] = (),
    ) -> None:
        for key, value, ttl in puts:
            await self.put(key, value, ttl)
        for key, member, ttl in set_adds:
            await self.set_add(key, member, ttl)

    async def set_remove(self, key: str, member: str) -> None:
        current = self._live(key)
        if isinstance(current, set):
            current.discard(member)

    async def set_members(self, key: str) -> set[str]:
        current = self._live(key)
        return set(current) if isinstance(current, set) else set()

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._values.clear()

"""Response caching in the store: per user, per organization or shared.

Entries are invalidated explicitly (the seed's "API response caching").

An entry is the JSON of what a route returns, kept under a *scope* (``user:42``,
``org:7``, ``shared``) and a name (``reports``). Invalidating a scope drops every entry
of it at once without listing keys: each scope has a generation counter, entries record
the generation they were built in, and a read fetches the entry and the counter in one
store round trip (one ``MGET``), so an entry from an older generation is a miss.
Invalidating one name deletes that entry. Entries also expire after their ``ttl``.

Keys of one scope share a Redis Cluster hash slot (``{user:42}``), so that one ``MGET``
stays one command on a cluster too.

Example:
    ```python
    @app.get("/api/v1/reports", response_model=list[Report])
    async def reports(user: User = Depends(kit.current_active_user)) -> Any:
        return await kit.cache.get_or_build(
            kit.cache.user(user.id), "reports", lambda: build_reports(user.id), ttl=300
        )

    # after something that changes the user's reports:
    await kit.cache.invalidate(kit.cache.user(user.id), "reports")  # or the whole scope
    ```
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from saaskit.store import Store, StoreUnavailable

logger = logging.getLogger("saaskit.cache")


@dataclass(frozen=True)
class CacheScope:
    """Whose entries these are: ``user:42``, ``org:7`` or ``shared``."""

    name: str

    @property
    def tag(self) -> str:
        """The scope as a Redis Cluster hash tag, so its keys share one slot."""
        return "{" + self.name + "}"  # one Redis Cluster hash slot per scope


class ResponseCache:
    """JSON responses cached in the store, per scope, with explicit invalidation.

    Args:
        store: where entries live (shared by every app process with Redis).
        prefix: key prefix of the cache inside the store.
    """

    def __init__(self, store: Store, *, prefix: str = "cache:") -> None:
        self.store = store
        self.prefix = prefix

    @staticmethod
    def user(user_id: int | str) -> CacheScope:
        """The scope of one user's entries."""
        return CacheScope(f"user:{user_id}")

    @staticmethod
    def organization(organization_id: int | str) -> CacheScope:
        """The scope of one organization's entries."""
        return CacheScope(f"org:{organization_id}")

    @staticmethod
    def shared() -> CacheScope:
        """Entries that are the same for everyone (the plan list)."""
        return CacheScope("shared")

    def _generation_key(self, scope: CacheScope) -> str:
        return f"{self.prefix}{scope.tag}:generation"

    def _entry_key(self, scope: CacheScope, name: str) -> str:
        return f"{self.prefix}{scope.tag}:entry:{name}"

    async def get(self, scope: CacheScope, name: str) -> tuple[bool, Any]:
        """``(True, value)`` for a current entry, else ``(False, None)`` (one round trip)."""
        found, value, _ = await self._lookup(scope, name)
        return found, value

    async def _lookup(self, scope: CacheScope, name: str) -> tuple[bool, Any, int]:
        entry, stored_generation = await self.store.get_many(
            [self._entry_key(scope, name), self._generation_key(scope)]
        )
        generation = int(stored_generation or 0)
        if entry is None:
            return False, None, generation
        stored = json.loads(entry)
        if stored.get("g") != generation:
            return False, None, generation  # built before the scope was invalidated
        return True, stored["v"], generation

    async def put(
        self, scope: CacheScope, name: str, value: Any, *, ttl: int, generation: int | None = None
    ) -> Any:
        """Store ``value`` (JSON-able, or a pydantic model) for ``ttl`` seconds.

        Returns its JSON form (what a later :meth:`get` returns).

        ``generation`` is the scope's generation when the value was read or built; an
        invalidation since then makes the entry a miss (default: the current one).
        """
        data = _jsonable(value)
        if generation is None:
            generation = int(await self.store.get(self._generation_key(scope)) or 0)
        entry = json.dumps({"g": generation, "v": data}, separators=(",", ":"))
        await self.store.put(self._entry_key(scope, name), entry.encode(), ttl=ttl)
        return data

    async def get_or_build(
        self,
        scope: CacheScope,
        name: str,
        build: Callable[[], Awaitable[Any]],
        *,
        ttl: int,
        cacheable: Callable[[Any], bool] | None = None,
    ) -> Any:
        """The cached value, or ``await build()`` stored for ``ttl`` seconds.

        The entry records the scope's generation read *before* building, so an
        invalidation that lands while it is built is not lost. A store that is down
        does not fail the route: the value is built and returned uncached (the cache is
        an optimisation, never a dependency). ``cacheable(value)`` false returns the
        value without storing it (e.g. a degraded answer during an outage).
        """
        try:
            found, value, generation = await self._lookup(scope, name)
        except StoreUnavailable:
            logger.warning("cache %s/%s: the store is down; answering uncached", scope.name, name)
            return _jsonable(await build())
        if found:
            return value
        built = await build()
        if cacheable is not None and not cacheable(built):
            return _jsonable(built)
        try:
            return await self.put(scope, name, built, ttl=ttl, generation=generation)
        except StoreUnavailable:
            return _jsonable(built)

    async def invalidate(self, scope: CacheScope, name: str | None = None) -> None:
        """Drop ``name`` of ``scope``, or every entry of ``scope`` when ``name`` is None."""
        if name is not None:
            await self.store.delete(self._entry_key(scope, name))
            return
        await self.store.incr(self._generation_key(scope), 1)


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return json.loads(json.dumps(value, default=str))

"""Redis Cluster store (``saaskit[redis]``, ``SAASKIT_STORE__CLUSTER=true``).

A cluster refuses a multi-key command whose keys live in different hash slots
(``CROSSSLOT``), and a ``MULTI`` block or a Lua script may only touch one slot. The
:class:`ClusterStore` therefore splits every multi-key operation by slot:

* ``get_many`` (and the batcher that merges the ``MGET`` of many concurrent requests):
  keys of one slot are one ``MGET`` to the node that serves it; keys of several slots are
  one ``MGET`` per slot, pipelined so that each node gets one round trip, all nodes in
  parallel (redis-py's ``mget_nonatomic``). A protected request reads the session and the
  cached user, which share the hash tag ``{u:<uid>}`` (:mod:`saaskit.store.keys`), so on
  its own it costs one ``MGET`` to one node.
* ``write_many``: one ``MULTI`` block per slot, the blocks in parallel. Everything one
  login writes carries the user's tag, so a login is still all-or-nothing.
* ``delete``: one ``DEL`` per slot (redis-py), so revoking a session (three keys of one
  tag) is one atomic ``DEL``.
* ``compare_and_set`` with ``previous``: both keys must share a hash tag; a caller that
  breaks this gets a :class:`ValueError` at once instead of a ``CROSSSLOT`` reply.

Single-key operations (rate-limit hits, counters, claims, locks) need nothing: redis-py
sends them to the node of their slot and follows ``MOVED`` after a failover or
resharding. A node that cannot be reached, a cluster that is down (``CLUSTERDOWN``) or a
slot that is moving (``TRYAGAIN``) is :class:`~saaskit.store.base.StoreUnavailable` (503).
"""

from __future__ import annotations

import asyncio
import functools
import traceback
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from saaskit.observability.metrics import recorder
from saaskit.store.base import CasResult, Entry, StoreUnavailable
from saaskit.store.redis import RedisStore, unavailable_on_error


def slot_of(key: str) -> int:
    """The cluster hash slot of ``key`` (CRC16 of its hash tag, modulo 16384)."""
    from redis.crc import key_slot

    slot: int = key_slot(key.encode())
    return slot


class ClusterStore(RedisStore):
    """Store on a Redis Cluster (``redis.asyncio.cluster.RedisCluster``).

    Args:
        url: any node of the cluster, e.g. ElastiCache's configuration endpoint
            (``rediss://clustercfg.<name>....cache.amazonaws.com:6379``); the client
            discovers the others. A cluster has only database 0.
        prefix: prefix of every key.
        socket_timeout: seconds before an unanswered call fails (then 503).
        max_connections: connections per node and process.
        tls: redis-py's TLS keyword arguments (CA and client certificate files).
    """

    _started = False
    _starting: asyncio.Lock | None = None

    def _connect(self, url: str, options: dict[str, Any]) -> Any:
        from redis.asyncio.cluster import RedisCluster

        # redis-py's async cluster client takes no health-check interval.
        options.pop("health_check_interval", None)
        return RedisCluster.from_url(url, **options)

    async def _start(self) -> None:
        """Learn the slot map once, before the first command.

        Concurrent first commands on a redis-py cluster client that has not initialized
        yet were seen to run a script twice (an ``incr_within`` applied twice, reported
        once); after one ``initialize()`` they are routed normally. redis-py refreshes
        the map itself later (``MOVED``, failed nodes).
        """
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if not self._started:
                await self._client.initialize()
                self._started = True

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        if len({slot_of(key) for key in keys}) == 1:
            values: list[bytes | None] = await self._client.mget(keys)
            return values
        # One MGET per slot; redis-py pipelines them per node, the nodes in parallel.
        found: list[bytes | None] = await self._client.mget_nonatomic(keys)
        return found

    @unavailable_on_error
    async def compare_and_set(
        self, key: str, expected: bytes, new: bytes, *, previous: tuple[str, int] | None = None
    ) -> CasResult:
        """Compare-and-set as on one Redis node; ``key`` and ``previous`` share a slot.

        Raises:
            ValueError: ``key`` and ``previous`` are in different hash slots (a cluster
                cannot run one script over both).
        """
        if previous is not None and slot_of(self._k(previous[0])) != slot_of(self._k(key)):
            raise ValueError(
                f"compare_and_set on a Redis Cluster needs {key!r} and {previous[0]!r} in one "
                "hash slot: give them the same {hash tag}"
            )
        return await super().compare_and_set(key, expected, new, previous=previous)

    @unavailable_on_error
    async def write_many(
        self,
        puts: Sequence[Entry] = (),
        set_adds: Sequence[tuple[str, str, int | None]] = (),
    ) -> None:
        """Write the entries and set members, all-or-nothing within each hash slot.

        One ``MULTI`` block per slot, the slots in parallel: keys that must change
        together (a user's session and its index) share a hash tag, so they are one block.
        """
        groups: dict[int, tuple[list[Entry], list[tuple[str, str, int | None]]]] = {}
        for entry in puts:
            groups.setdefault(slot_of(self._k(entry[0])), ([], []))[0].append(entry)
        for adds in set_adds:
            groups.setdefault(slot_of(self._k(adds[0])), ([], []))[1].append(adds)
        blocks = [self._write_block(p, s) for p, s in groups.values()]
        if len(blocks) == 1:
            await blocks[0]
        elif blocks:
            await asyncio.gather(*blocks)


def _inside_redis_py(error: BaseException) -> bool:
    """Whether ``error`` was raised in redis-py's own asyncio code."""
    frames = traceback.extract_tb(error.__traceback__)
    parts = Path(frames[-1].filename).parts if frames else ()
    return len(parts) >= 2 and "redis" in parts[:-1] and "asyncio" in parts[:-1]


def _started_first(
    method: Callable[..., Coroutine[Any, Any, Any]],
) -> Callable[..., Coroutine[Any, Any, Any]]:
    """Initialize the client before ``method``, and answer redis-py's internal failures 503.

    redis-py internals failing on a connection torn down by a topology change
    (``AttributeError`` on a closed connection's writer, seen with concurrent commands on
    a fresh client) are a 503, not a 500.
    """

    @functools.wraps(method)
    async def wrapper(self: ClusterStore, *args: Any, **kwargs: Any) -> Any:
        try:
            if not self._started:
                await unavailable_on_error(ClusterStore._start)(self)
            return await method(self, *args, **kwargs)
        except AttributeError as error:
            if not _inside_redis_py(error):
                raise
            recorder().store_error()
            raise StoreUnavailable() from error

    return wrapper


for _name in (
    "get",
    "get_many",
    "put",
    "replace",
    "delete",
    "claim",
    "compare_and_set",
    "hit",
    "incr",
    "incr_within",
    "set_add",
    "write_many",
    "set_remove",
    "set_members",
):
    setattr(ClusterStore, _name, _started_first(getattr(ClusterStore, _name)))

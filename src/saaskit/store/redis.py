"""Redis store (``saaskit[redis]``): shared by every app process."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, ParamSpec, TypeVar

from saaskit.exceptions import require_module
from saaskit.observability.metrics import recorder
from saaskit.store.base import CasResult, Entry, StoreUnavailable
from saaskit.store.batching import MgetBatcher

P = ParamSpec("P")
T = TypeVar("T")

_CAS = """
local current = redis.call('GET', KEYS[1])
if not current then return -1 end
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3]) end
return 1
"""

_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
"""

_INCR_WITHIN = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local value = current + tonumber(ARGV[1])
if value > tonumber(ARGV[2]) then return {0, current} end
redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[3]) > 0 and redis.call('TTL', KEYS[1]) == -1 then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return {1, value}
"""

_INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 and redis.call('TTL', KEYS[1]) == -1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return value
"""


@functools.cache
def _unreachable_errors() -> tuple[type[BaseException], ...]:
    """redis-py's errors that mean "the store cannot answer now", not "wrong request".

    Connection failures and time-outs, and on a cluster a node or slot without a master
    (``CLUSTERDOWN``, a failover in progress), a slot being moved (``TRYAGAIN``, ``MOVED``
    after every redirect), a write that reached a node just demoted to replica
    (``READONLY``), no reachable node.
    """
    from redis import exceptions as e

    unreachable: tuple[type[BaseException], ...] = (
        e.ConnectionError,
        e.TimeoutError,
        OSError,
        e.ClusterError,
        e.TryAgainError,
        e.ReadOnlyError,
        e.AskError,  # MOVED/ASK still answered after redis-py's redirects: slots in flux
    )
    return unreachable


def _is_unreachable(error: BaseException, unreachable: tuple[type[BaseException], ...]) -> bool:
    from redis import exceptions as e

    if isinstance(error, unreachable):
        return True
    # "Redis Cluster cannot be connected", a slot no node serves; not a CROSSSLOT mistake.
    return isinstance(error, e.RedisClusterException) and not isinstance(
        error, e.CrossSlotTransactionError | e.InvalidPipelineStack
    )


def unavailable_on_error(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Turn connection failures into :class:`StoreUnavailable` (a clean 503).

    redis-py is imported on the first error, not here: this decorates methods at import
    time, and saaskit without the ``redis`` extra must still import (the embedded default).
    """

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except StoreUnavailable:
            raise
        except Exception as error:
            if not _is_unreachable(error, _unreachable_errors()):
                raise
            recorder().store_error()
            raise StoreUnavailable() from error

    return wrapper


class RedisStore:
    """Store on Redis (``redis.asyncio``); keys are prefixed with ``prefix``."""

    shared = True

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "saaskit:",
        socket_timeout: float = 2.0,
        max_connections: int = 100,
        tls: dict[str, str] | None = None,
    ) -> None:
        require_module("redis", "redis")
        self.prefix = prefix
        # rediss:// verifies the certificate and host name (redis-py's defaults); ``tls``
        # adds the CA and client certificate files (ssl_ca_certs, ssl_certfile, ...).
        self._client: Any = self._connect(
            url,
            {
                "socket_timeout": socket_timeout,
                "socket_connect_timeout": socket_timeout,
                "max_connections": max_connections,
                "health_check_interval": 30,
                **(tls or {}),
            },
        )
        self._batcher = MgetBatcher(self._mget)
        self._cas = self._client.register_script(_CAS)
        self._hit = self._client.register_script(_HIT)
        self._incr = self._client.register_script(_INCR)
        self._incr_within = self._client.register_script(_INCR_WITHIN)

    def _connect(self, url: str, options: dict[str, Any]) -> Any:
        """The redis-py client for ``url`` (the cluster store returns a cluster client)."""
        import redis.asyncio as aioredis

        return aioredis.from_url(url, **options)

    def _k(self, key: str) -> str:
        return self.prefix + key

    @unavailable_on_error
    async def get(self, key: str) -> bytes | None:
        value: bytes | None = await self._client.get(self._k(key))
        return value

    @unavailable_on_error
    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        return await self._batcher.get_many([self._k(k) for k in keys])

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        values: list[bytes | None] = await self._client.mget(keys)
        return values

    @unavailable_on_error
    async def put(self, key: str, value: bytes, ttl: int | None = None) -> None:
        await self._client.set(self._k(key), value, ex=ttl)

    @unavailable_on_error
    async def replace(self, key: str, value: bytes, ttl: int | None = None) -> bool:
        return bool(await self._client.set(self._k(key), value, ex=ttl, xx=True))

    @unavailable_on_error
    async def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        removed: int = await self._client.delete(*(self._k(k) for k in keys))
        return removed

    @unavailable_on_error
    async def claim(self, key: str, ttl: int, value: bytes = b"1") -> bool:
        return bool(await self._client.set(self._k(key), value, ex=ttl, nx=True))

    @unavailable_on_error
    async def compare_and_set(
        self, key: str, expected: bytes, new: bytes, *, previous: tuple[str, int] | None = None
    ) -> CasResult:
        keep_key, keep_ttl = previous or (key, 0)
        outcome = int(
            await self._cas(keys=[self._k(key), self._k(keep_key)], args=[expected, new, keep_ttl])
        )
        return {1: CasResult.SWAPPED, 0: CasResult.MISMATCH}.get(outcome, CasResult.MISSING)

    @unavailable_on_error
    async def hit(self, key: str, window: int) -> tuple[int, int]:
        count, ttl = await self._hit(keys=[self._k(key)], args=[window])
        return int(count), int(ttl)

    @unavailable_on_error
    async def incr(self, key: str, amount: int, ttl: int | None = None) -> int:
        return int(await self._incr(keys=[self._k(key)], args=[amount, ttl or 0]))

    @unavailable_on_error
    async def incr_within(
        self, key: str, amount: int, maximum: int, ttl: int | None = None
    ) -> tuple[bool, int]:
        added, value = await self._incr_within(
            keys=[self._k(key)], args=[amount, maximum, ttl or 0]
        )
        return bool(added), int(value)

    @unavailable_on_error
    async def set_add(self, key: str, member: str, ttl: int | None = None) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.sadd(self._k(key), member)
            if ttl is not None:
                pipe.expire(self._k(key), ttl)
            await pipe.execute()

    @unavailable_on_error
    async def write_many(
        self,
        puts: Sequence[Entry] = (),
        set_adds: Sequence[tuple[str, str, int | None]] = (),
    ) -> None:
        await self._write_block(puts, set_adds)

    async def _write_block(
        self, puts: Sequence[Entry], set_adds: Sequence[tuple[str, str, int | None]]
    ) -> None:
        """Puts and set additions in one ``MULTI`` block (one round trip)."""
        async with self._client.pipeline(transaction=True) as pipe:
            for key, value, ttl in puts:
                pipe.set(self._k(key), value, ex=ttl)
            for key, member, ttl in set_adds:
                pipe.sadd(self._k(key), member)
                if ttl is not None:
                    pipe.expire(self._k(key), ttl)
            await pipe.execute()

    @unavailable_on_error
    async def set_remove(self, key: str, member: str) -> None:
        await self._client.srem(self._k(key), member)

    @unavailable_on_error
    async def set_members(self, key: str) -> set[str]:
        members = await self._client.smembers(self._k(key))
        return {m.decode() if isinstance(m, bytes) else str(m) for m in members}

    async def cluster_enabled(self) -> bool:
        """Whether the server is a Redis Cluster node (``INFO cluster``)."""
        found = await self._client.info("cluster")
        if isinstance(found, dict) and found and all(isinstance(v, dict) for v in found.values()):
            found = next(iter(found.values()))  # the cluster client answers per node
        return str(found.get("cluster_enabled", 0)) == "1"

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except Exception:
            return False

    async def close(self) -> None:
        await self._client.aclose()

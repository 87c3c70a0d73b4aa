"""Shared state: the :class:`Store` protocol and its Redis and in-process implementations."""

from __future__ import annotations

import logging

from saaskit.settings import StoreSettings
from saaskit.store.base import CasResult, Entry, Store, StoreUnavailable
from saaskit.store.memory import MemoryStore

logger = logging.getLogger("saaskit")


def create_store(
    redis_url: str | None, settings: StoreSettings | None = None, *, cluster: bool | None = None
) -> Store:
    """The store for ``redis_url``: a :class:`MemoryStore` when it is unset.

    Args:
        redis_url: ``redis://`` or ``rediss://`` URL, or None for the in-process store.
        settings: the store section of the settings (prefix, time-outs, TLS files).
        cluster: whether ``redis_url`` is a Redis Cluster node (default
            ``settings.cluster``): a :class:`~saaskit.store.cluster.ClusterStore`, else a
            :class:`~saaskit.store.redis.RedisStore`.

    Returns:
        The store; nothing is connected until its first call.
    """
    if redis_url:
        from saaskit.store.redis import RedisStore

        options = settings or StoreSettings()
        kind: type[RedisStore] = RedisStore
        if options.cluster if cluster is None else cluster:
            from saaskit.store.cluster import ClusterStore

            kind = ClusterStore
        return kind(
            redis_url,
            prefix=options.prefix,
            socket_timeout=options.socket_timeout,
            max_connections=options.max_connections,
            # The CA and client certificate are for the TLS store (a plaintext broker URL
            # probed by `saaskit check` gets none; settings refuse them with redis://).
            tls=options.tls_options if redis_url.lower().startswith("rediss://") else None,
        )
    logger.info("saaskit: no SAASKIT_REDIS_URL; sessions and rate limits live in this process only")
    return MemoryStore()


__all__ = ["CasResult", "Entry", "MemoryStore", "Store", "StoreUnavailable", "create_store"]

"""The cluster store turns redis-py's internal failures on a torn-down connection into
503, and nothing else.

With concurrent commands on a fresh ``redis.asyncio.cluster.RedisCluster`` (and on
connections closed by a topology change), redis-py 8 was seen to fail inside its own
connection code with ``AttributeError: 'NoneType' object has no attribute
'writelines'``. A user must get a 503 for that, not a 500; a programming error of
saaskit's own must still surface as what it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from saaskit.store import StoreUnavailable
from saaskit.store.cluster import ClusterStore
from tests.ports import free_port


def raising_in(filename: str) -> Any:
    """An async function that fails with an AttributeError whose innermost frame is in
    ``filename`` (as if raised by code of that file)."""
    namespace: dict[str, Any] = {}
    code = "async def broken(*args, **kwargs):\n    writer = None\n    writer.writelines([])\n"
    exec(compile(code, filename, "exec"), namespace)  # noqa: S102 - a fixed test snippet
    return namespace["broken"]


@pytest.fixture
async def store() -> AsyncIterator[ClusterStore]:
    store = ClusterStore(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=1.0)
    store._started = True  # no cluster behind it: the failing client call is all there is
    yield store
    await store.close()


async def test_a_failure_inside_redis_py_is_store_unavailable(store: ClusterStore) -> None:
    store._client.mget = raising_in("/venv/site-packages/redis/asyncio/connection.py")
    store._client.set = store._client.mget

    with pytest.raises(StoreUnavailable):
        await store.get_many(["{u:1}:sess:x", "{u:1}:user"])
    with pytest.raises(StoreUnavailable):
        await store.put("k", b"v")


async def test_the_same_error_from_elsewhere_is_not_hidden(store: ClusterStore) -> None:
    store._client.mget = raising_in("/srv/app/saaskit/store/cluster.py")

    with pytest.raises(AttributeError):
        await store.get_many(["{u:1}:sess:x", "{u:1}:user"])

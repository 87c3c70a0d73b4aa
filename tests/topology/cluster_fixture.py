"""The session's Redis Cluster fixture (imported by the root conftest so that every
test directory shares one cluster; it starts only when a test asks for it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.topology.redis_cluster import (
    RedisCluster,
    require_cluster_tools,
    scratch_cluster_folder,
)


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """3 masters + 3 replicas on free loopback ports, for the whole session.

    Tests that kill a node must leave the cluster healthy again (see
    :meth:`RedisCluster.heal`).
    """
    require_cluster_tools()
    folder = scratch_cluster_folder()
    cluster = RedisCluster(folder)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)

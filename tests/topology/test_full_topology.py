"""The production topology end to end: two app processes behind nginx, PostgreSQL
primary + streaming replica, the 3-master Redis Cluster as the store, a separate
non-cluster redis-server as the Celery broker, and a Celery worker.

The same 200-user scenario as tests/e2e/test_scale_out.py (register, log in, refresh,
``/me``, check out, pay, webhooks through the worker, log out) passes with nothing lost
and no 5xx. Every server is started by the harness, so the test runs on both legs of the
suite; locally it skips without nginx, under ``CI=true`` it fails instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from saaskit.testing.fake_stripe import FakeStripe
from tests.e2e.test_scale_out import NGINX, scale_out
from tests.topology.conftest import ReplicatedDatabase
from tests.topology.postgres import IN_CI
from tests.topology.redis_cluster import RedisCluster
from tests.topology.redis_servers import PlainRedis

pytestmark = pytest.mark.slow


async def test_200_users_on_replicas_a_redis_cluster_and_a_separate_broker(
    tmp_path: Path,
    replicated: ReplicatedDatabase,
    redis_cluster: RedisCluster,
    fake_stripe: FakeStripe,
) -> None:
    if not NGINX:
        reason = "nginx is not installed (Debian package `nginx`)"
        (pytest.fail if IN_CI else pytest.skip)(reason)

    with PlainRedis(tmp_path) as broker:
        await scale_out(
            tmp_path,
            fake_stripe,
            replicated.primary_url,
            database_replica_urls=[replicated.replica_url],
            redis_url=redis_cluster.url,
            store={"cluster": True},
            tasks={"broker_url": broker.url},
        )

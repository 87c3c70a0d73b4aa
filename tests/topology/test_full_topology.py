"""The production topology end to end: two app processes behind nginx, PostgreSQL
primary + streaming replica, the 3-master Redis Cluster as the store, a separate
non-cluster Redis (the test Redis) as the Celery broker, and a Celery worker.

The same 200-user scenario as tests/e2e/test_scale_out.py (register, log in, refresh,
``/me``, check out, pay, webhooks through the worker, log out) passes with nothing lost
and no 5xx.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from saaskit.testing.fake_stripe import FakeStripe
from tests.e2e.test_scale_out import NGINX, scale_out
from tests.helpers import TEST_REDIS_URL
from tests.topology.conftest import ReplicatedDatabase
from tests.topology.postgres import IN_CI
from tests.topology.redis_cluster import RedisCluster

pytestmark = pytest.mark.slow


async def test_200_users_on_replicas_a_redis_cluster_and_a_separate_broker(
    tmp_path: Path,
    replicated: ReplicatedDatabase,
    redis_cluster: RedisCluster,
    fake_stripe: FakeStripe,
) -> None:
    missing = [
        reason
        for reason, absent in (
            ("nginx is not installed (Debian package `nginx`)", not NGINX),
            ("the Celery broker is the test Redis: set SAASKIT_TEST_REDIS_URL", not TEST_REDIS_URL),
        )
        if absent
    ]
    if missing:
        (pytest.fail if IN_CI else pytest.skip)("; ".join(missing))

    await scale_out(
        tmp_path,
        fake_stripe,
        replicated.primary_url,
        database_replica_urls=[replicated.replica_url],
        redis_url=redis_cluster.url,
        store={"cluster": True},
        tasks={"broker_url": TEST_REDIS_URL},
    )

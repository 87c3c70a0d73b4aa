"""``saaskit check`` with a Redis Cluster: it says which mode it uses, catches a cluster
node configured as a single Redis (and the reverse), and refuses a cluster as the Celery
broker (Celery has no Redis Cluster transport)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.cli.helpers import invoke
from tests.helpers import TEST_REDIS_URL, make_settings
from tests.topology.redis_cluster import RedisCluster

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("SAASKIT_") and not name.startswith("SAASKIT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_a_cluster_in_cluster_mode_passes(database_url: str, redis_cluster: RedisCluster) -> None:
    env = {
        "SAASKIT_DATABASE_URL": database_url,
        "SAASKIT_REDIS_URL": redis_cluster.url,
        "SAASKIT_STORE__CLUSTER": "true",
    }
    result = invoke("check", env=env)
    assert result.exit_code == 0, result.output
    assert "Store:       Redis Cluster reached through redis://127.0.0.1:" in result.stdout
    assert "ok    redis cluster reachable" in result.stdout


def test_a_cluster_node_without_cluster_mode_fails(
    database_url: str, redis_cluster: RedisCluster
) -> None:
    env = {"SAASKIT_DATABASE_URL": database_url, "SAASKIT_REDIS_URL": redis_cluster.url}
    result = invoke("check", env=env)
    assert result.exit_code == 1, result.output
    assert "is a Redis Cluster node, but SAASKIT_STORE__CLUSTER is not true" in result.stdout
    assert "SAASKIT_STORE__CLUSTER=true" in result.stdout


@pytest.mark.skipif(not TEST_REDIS_URL, reason="needs the test Redis (a single node)")
def test_cluster_mode_on_a_single_redis_fails(database_url: str) -> None:
    env = {
        "SAASKIT_DATABASE_URL": database_url,
        "SAASKIT_REDIS_URL": (TEST_REDIS_URL or "").rsplit("/", 1)[0] + "/0",
        "SAASKIT_STORE__CLUSTER": "true",
    }
    result = invoke("check", env=env)
    assert result.exit_code == 1, result.output
    assert "SAASKIT_STORE__CLUSTER is true but redis at" in result.stdout
    assert "is not a cluster node" in result.stdout


def test_a_cluster_as_celery_broker_fails(database_url: str, redis_cluster: RedisCluster) -> None:
    env = {
        "SAASKIT_DATABASE_URL": database_url,
        "SAASKIT_TASKS__BACKEND": "celery",
        "SAASKIT_TASKS__BROKER_URL": redis_cluster.url,
    }
    result = invoke("check", env=env)
    assert result.exit_code == 1, result.output
    assert "task broker at redis://127.0.0.1:" in result.stdout
    assert "is a Redis Cluster node; Celery has no Redis Cluster transport" in result.stdout
    assert "task broker reachable" not in result.stdout


def test_the_store_cluster_is_no_default_broker(
    database_url: str, redis_cluster: RedisCluster
) -> None:
    env = {
        "SAASKIT_DATABASE_URL": database_url,
        "SAASKIT_REDIS_URL": redis_cluster.url,
        "SAASKIT_STORE__CLUSTER": "true",
        "SAASKIT_TASKS__BACKEND": "celery",
    }
    result = invoke("check", env=env)
    assert result.exit_code == 1, result.output
    assert "Celery has no Redis Cluster transport" in result.stdout
    assert "set SAASKIT_TASKS__BROKER_URL to a separate, non-cluster Redis" in result.stdout

    production = {**env, "SAASKIT_ENVIRONMENT": "production"}
    with pytest.raises(ValidationError, match="Celery has no Redis Cluster transport"):
        make_settings(
            database_url,
            environment="production",
            redis_url=redis_cluster.url,
            store={"cluster": True},
            tasks={"backend": "celery"},
        )
    assert invoke("check", env=production).exit_code == 1


def test_a_cluster_has_only_database_zero(database_url: str) -> None:
    with pytest.raises(ValidationError, match="a Redis Cluster has only database 0"):
        make_settings(database_url, redis_url="redis://127.0.0.1:7000/2", store={"cluster": True})
    with pytest.raises(ValidationError, match="SAASKIT_REDIS_URL is not set"):
        make_settings(database_url, store={"cluster": True})

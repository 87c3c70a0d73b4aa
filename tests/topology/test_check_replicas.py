"""``saaskit check`` with read replicas: a replica that answers is ok; one that does not
answer, or is not a standby at all, is a warning (its reads go to the primary)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.helpers import invoke
from tests.ports import free_port
from tests.topology.conftest import ReplicatedDatabase

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("SAASKIT_") and not name.startswith("SAASKIT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_check_reports_each_replica(replicated: ReplicatedDatabase) -> None:
    dead = f"postgresql+asyncpg://postgres:replicapw@127.0.0.1:{free_port()}/saaskit"
    replicas = [replicated.replica_url, replicated.primary_url, dead]
    env = {
        "SAASKIT_DATABASE_URL": replicated.primary_url,
        "SAASKIT_DATABASE_REPLICA_URLS": ",".join(replicas),
    }
    result = invoke("check", env=env)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert (
        f"ok    read replica reachable (postgresql+asyncpg://postgres@127.0.0.1:{replicated.replica.port}"
        in out
    )
    assert "is not a standby (pg_is_in_recovery() is false)" in out
    assert "unreachable" in out
    assert "its reads go to the primary" in out
    assert "replicapw" not in out

"""Password-hashing worker processes: isolation from the app, recovery, starvation guard."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from saaskit.auth import hashpool
from saaskit.auth.hashpool import HashPool
from saaskit.auth.passwords import PwdlibHasher
from saaskit.settings import AuthSettings
from tests.helpers import GUARD_SECONDS

SCHEME = ("bcrypt", 4)


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[HashPool]:
    # A busy machine can leave a SCHED_IDLE worker without CPU for a while: unless a test
    # is about starvation, wait for it (a hang guard) instead of bypassing it.
    monkeypatch.setattr(hashpool, "MIN_PATIENCE", GUARD_SECONDS)
    pool = HashPool()
    pool.reserve(1)
    yield pool
    pool.close()


def hash_request() -> dict[str, object]:
    return {"op": "hash", "scheme": SCHEME, "password": "correct horse"}


def verify(pool: HashPool, password: str, hashed: str) -> bool:
    reply = pool.call({"op": "verify", "scheme": SCHEME, "password": password, "hash": hashed})
    return bool(reply["match"])


def the_worker(pool: HashPool) -> int:
    [worker] = pool._all
    return worker.process.pid


def test_hashing_happens_in_a_low_priority_child_process(pool: HashPool) -> None:
    hashed = pool.call(hash_request())["hash"]

    assert hashed.startswith("$2b$04$")
    assert verify(pool, "correct horse", hashed)
    assert not verify(pool, "wrong horse", hashed)
    pid = the_worker(pool)
    assert pid != os.getpid()
    if hasattr(os, "sched_getscheduler"):
        assert os.sched_getscheduler(pid) == os.SCHED_IDLE


def test_a_corrupt_hash_never_matches_and_the_worker_lives_on(pool: HashPool) -> None:
    assert not verify(pool, "correct horse", "not-a-hash")
    pid = the_worker(pool)
    assert not verify(pool, "correct horse", "$2b$04$tooshort")
    assert the_worker(pool) == pid


def test_a_worker_that_dies_is_replaced(pool: HashPool, caplog: pytest.LogCaptureFixture) -> None:
    pool.call(hash_request())
    dead = the_worker(pool)
    os.kill(dead, signal.SIGKILL)

    hashed = pool.call(hash_request())["hash"]

    assert verify(pool, "correct horse", hashed)
    assert the_worker(pool) != dead
    assert "worker died" in caplog.text


def test_a_starved_worker_is_bypassed_at_normal_priority(
    pool: HashPool, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stopped process gets no CPU at all: the worst case of SCHED_IDLE starvation.
    pool.call(hash_request())
    starved = the_worker(pool)
    os.kill(starved, signal.SIGSTOP)
    monkeypatch.setattr(hashpool, "MIN_PATIENCE", 0.3)
    try:
        with caplog.at_level(logging.WARNING, "saaskit.auth"):
            hashed = pool.call(hash_request())["hash"]
    finally:
        monkeypatch.setattr(hashpool, "MIN_PATIENCE", GUARD_SECONDS)
        if pool._all and the_worker(pool) == starved:
            os.kill(starved, signal.SIGCONT)

    assert hashed.startswith("$2b$04$")
    assert "got no CPU time" in caplog.text
    assert pool._all == []  # the starved worker was killed; the next call starts a new one
    assert verify(pool, "correct horse", hashed)
    assert the_worker(pool) != starved


@pytest.mark.parametrize(
    "interpreter",
    ["/nonexistent/python", "/bin/false"],  # cannot start; starts but is no Python
)
def test_without_a_usable_interpreter_hashing_falls_back_to_threads(
    pool: HashPool,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    interpreter: str,
) -> None:
    monkeypatch.setattr(sys, "executable", interpreter)

    hashed = pool.call(hash_request())["hash"]

    assert verify(pool, "correct horse", hashed)
    assert pool._all == []
    assert caplog.text.count("hashing in threads instead") == 1


async def test_kits_share_one_pool_of_processes() -> None:
    first = PwdlibHasher(AuthSettings(bcrypt_rounds=4))
    second = PwdlibHasher(AuthSettings(bcrypt_rounds=5))
    try:
        hashed = await first.hash("correct horse")
        assert (await second.verify("correct horse", hashed))[0]
        assert first._pool is second._pool is hashpool.shared_pool()
    finally:
        first.close()
        second.close()


def test_callers_waiting_for_a_busy_pool_get_a_replacement_for_a_lost_worker(
    pool: HashPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One worker, three callers; the worker is stopped, so the first caller gives up on it
    # (starved) and the others must not wait forever for it to come back.
    pool.call(hash_request())
    os.kill(the_worker(pool), signal.SIGSTOP)
    monkeypatch.setattr(hashpool, "MIN_PATIENCE", 0.3)
    with ThreadPoolExecutor(3) as callers:
        replies = list(callers.map(lambda _: pool.call(hash_request()), range(3)))

    assert all(reply["hash"].startswith("$2b$04$") for reply in replies)

"""The per-process event loop that Celery tasks run on, and the Celery task body."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from saaskit.exceptions import EmailDeliveryError
from saaskit.settings import TaskSettings
from saaskit.tasks.celery import _task_body
from saaskit.tasks.loop import ProcessLoop
from saaskit.tasks.runner import TransientError


@pytest.fixture
def loop() -> Iterator[ProcessLoop]:
    process_loop = ProcessLoop()
    yield process_loop
    process_loop.stop()


async def current_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


async def current_thread() -> threading.Thread:
    return threading.current_thread()


def test_every_task_of_a_process_runs_on_one_loop_from_any_thread(loop: ProcessLoop) -> None:
    async def job(n: int) -> tuple[int, asyncio.AbstractEventLoop]:
        await asyncio.sleep(0.01)
        return n, asyncio.get_running_loop()

    with ThreadPoolExecutor(4) as threads:  # as Celery's threads pool calls it
        results = list(threads.map(lambda n: loop.run(job(n)), range(8)))

    assert [n for n, _ in results] == list(range(8))
    assert len({id(running) for _, running in results}) == 1
    assert loop.running


def test_a_task_over_its_time_limit_is_cancelled(loop: ProcessLoop) -> None:
    cancelled = threading.Event()

    async def stuck() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(TimeoutError):
        loop.run(stuck(), timeout=0.05)
    assert cancelled.wait(1)
    assert loop.run(current_loop()) is not None  # the loop is still usable


def test_errors_reach_the_caller(loop: ProcessLoop) -> None:
    async def broken() -> None:
        raise ValueError("bug")

    with pytest.raises(ValueError, match="bug"):
        loop.run(broken())


def test_a_forked_process_starts_its_own_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    starts: list[int] = []

    async def on_start() -> None:
        starts.append(os.getpid())

    process_loop = ProcessLoop(on_start=on_start)
    parent = process_loop.run(current_loop())
    parent_thread = process_loop.run(current_thread())
    monkeypatch.setattr(os, "getpid", lambda: -1)  # what a prefork child sees
    child = process_loop.run(current_loop())
    process_loop.stop()  # the child's
    # In a real fork the parent's thread does not exist in the child; here, end it.
    parent.call_soon_threadsafe(parent.stop)
    parent_thread.join(1)
    parent.close()

    assert child is not parent
    assert len(starts) == 2


def test_stop_awaits_the_final_hook_then_ends_the_thread() -> None:
    process_loop = ProcessLoop()
    thread = process_loop.run(current_thread())
    closed: list[str] = []

    async def close() -> None:
        await asyncio.sleep(0)
        closed.append("kit")

    process_loop.stop(close)

    assert closed == ["kit"]
    assert not process_loop.running
    assert thread.name == "saaskit-task-loop"
    assert not thread.is_alive()
    process_loop.stop(close)  # nothing left to stop
    assert closed == ["kit"]


@dataclass
class FakeRequest:
    retries: int = 0


@dataclass
class FakeCeleryTask:
    """What the task body uses of Celery's bound task: ``request`` and ``retry``."""

    request: FakeRequest = field(default_factory=FakeRequest)
    retried: list[dict[str, Any]] = field(default_factory=list)

    def retry(self, **options: Any) -> Exception:
        self.retried.append(options)
        return RuntimeError("Retry")  # what Celery raises to requeue


LOOPS: list[ProcessLoop] = []


@pytest.fixture(autouse=True)
def stop_loops() -> Iterator[None]:
    yield
    while LOOPS:
        LOOPS.pop().stop()


def body(tasks: dict[str, Any], **settings: Any) -> Any:
    """The ``saaskit.run`` task function for a kit with ``tasks`` and task ``settings``."""
    kit = SimpleNamespace(tasks=tasks, settings=SimpleNamespace(tasks=TaskSettings(**settings)))
    LOOPS.append(ProcessLoop())
    return _task_body(kit, LOOPS[-1])


def test_a_transient_failure_asks_celery_to_retry_with_backoff() -> None:
    async def down(payload: dict[str, Any]) -> None:
        raise EmailDeliveryError("smtp:25", "refused")

    run = body({"email.reset": down}, retry_backoff=2, max_retries=5)
    task = FakeCeleryTask(FakeRequest(retries=2))

    with pytest.raises(RuntimeError, match="Retry"):
        run(task, "email.reset", {"to": "a@example.com"})

    [options] = task.retried
    assert options["countdown"] == 8
    assert options["max_retries"] == 5
    assert isinstance(options["exc"], EmailDeliveryError)
    assert options["argsrepr"] == "('email.reset', ...)"  # the retry hides the payload too


def test_the_last_attempt_raises_the_error_and_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    async def down(payload: dict[str, Any]) -> None:
        raise TransientError("still down")

    run = body({"email.reset": down}, max_retries=3)
    task = FakeCeleryTask(FakeRequest(retries=3))

    with pytest.raises(TransientError):
        run(task, "email.reset", {})

    assert task.retried == []
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == "task email.reset failed after 4 attempts: still down"


def test_a_bug_is_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    async def buggy(payload: dict[str, Any]) -> None:
        raise KeyError("to")

    run = body({"email.reset": buggy})
    task = FakeCeleryTask()

    with pytest.raises(KeyError):
        run(task, "email.reset", {})

    assert task.retried == []
    assert "task email.reset failed (not retried)" in caplog.text


def test_a_task_the_worker_does_not_know_fails_loudly(caplog: pytest.LogCaptureFixture) -> None:
    run = body({"email.reset": None})

    with pytest.raises(LookupError, match=r"unknown task 'billing\.process_event'"):
        run(FakeCeleryTask(), "billing.process_event", {"event_id": "evt_1"})

    assert "is not defined by this worker's kit (email.reset)" in caplog.text


def test_a_task_that_succeeds_returns_nothing() -> None:
    done: list[dict[str, Any]] = []

    async def work(payload: dict[str, Any]) -> None:
        done.append(payload)

    run = body({"work": work})
    assert run(FakeCeleryTask(), "work", {"n": 1}) is None
    assert done == [{"n": 1}]

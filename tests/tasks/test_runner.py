"""The in-process task runner: retries with backoff, logged permanent failures, drain."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.email import MemorySender
from saaskit.exceptions import EmailDeliveryError
from saaskit.models import User
from saaskit.tasks.runner import InProcessRunner, TransientError
from tests.helpers import register

BACKOFF = 0.01


class Flaky:
    """Fails ``failures`` times with ``error``, then succeeds; records call times."""

    def __init__(self, failures: int, error: type[Exception] = TransientError) -> None:
        self.failures = failures
        self.error = error
        self.calls: list[float] = []
        self.payloads: list[dict[str, Any]] = []

    async def __call__(self, payload: dict[str, Any]) -> None:
        self.calls.append(time.monotonic())
        self.payloads.append(payload)
        if len(self.calls) <= self.failures:
            raise self.error("not yet")


async def test_a_transient_failure_is_retried_with_growing_backoff() -> None:
    task = Flaky(failures=2)
    runner = InProcessRunner({"flaky": task}, retries=3, backoff=BACKOFF)

    await runner.enqueue("flaky", {"n": 1})
    await runner.drain()

    assert len(task.calls) == 3
    assert task.payloads == [{"n": 1}] * 3
    gaps = [later - earlier for earlier, later in zip(task.calls, task.calls[1:], strict=False)]
    assert gaps[0] >= 0.9 * BACKOFF  # (a margin for the event loop's clock resolution)
    assert gaps[1] >= 0.9 * 2 * BACKOFF


@pytest.mark.parametrize("error", [TransientError, ConnectionResetError, EmailDeliveryError])
async def test_a_permanent_transient_failure_is_logged_after_the_last_retry(
    error: type[Exception], caplog: pytest.LogCaptureFixture
) -> None:
    def make(message: str) -> Exception:
        return error("smtp:25", message) if error is EmailDeliveryError else error(message)

    calls: list[int] = []

    async def always_down(payload: dict[str, Any]) -> None:
        calls.append(1)
        raise make("down")

    runner = InProcessRunner({"down": always_down}, retries=2, backoff=BACKOFF)

    await runner.enqueue("down", {})
    await runner.drain()

    assert len(calls) == 3
    [final] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert final.getMessage() == "task down failed after 3 attempts"
    assert final.exc_info is not None
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


async def test_a_non_transient_failure_is_logged_once_without_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    task = Flaky(failures=10, error=ValueError)
    runner = InProcessRunner({"bug": task}, retries=3, backoff=BACKOFF)

    await runner.enqueue("bug", {})
    await runner.drain()

    assert len(task.calls) == 1
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == "task bug failed"
    assert record.exc_info is not None


async def test_enqueue_returns_before_the_task_runs_and_drain_waits() -> None:
    done: list[str] = []

    async def slow(payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.05)
        done.append(payload["name"])

    runner = InProcessRunner({"slow": slow})

    await runner.enqueue("slow", {"name": "a"})
    await runner.enqueue("slow", {"name": "b"})
    assert done == []
    await runner.drain()

    assert sorted(done) == ["a", "b"]


async def test_drain_also_waits_for_tasks_queued_by_tasks() -> None:
    done: list[str] = []
    runner: InProcessRunner

    async def child(payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.02)
        done.append("child")

    async def parent(payload: dict[str, Any]) -> None:
        await runner.enqueue("child", {})
        done.append("parent")

    runner = InProcessRunner({"parent": parent, "child": child})
    await runner.enqueue("parent", {})
    await runner.drain()

    assert done == ["parent", "child"]


async def test_an_unknown_task_name_is_refused_at_enqueue() -> None:
    runner = InProcessRunner({})

    with pytest.raises(KeyError, match="unknown task 'nope'"):
        await runner.enqueue("nope", {})


async def test_close_drains_pending_work() -> None:
    done: list[int] = []

    async def work(payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)
        done.append(1)

    runner = InProcessRunner({"work": work})
    await runner.enqueue("work", {})
    await runner.close()

    assert done == [1]


async def test_a_failing_email_is_retried_and_the_request_is_unaffected(
    client: httpx.AsyncClient, kit: SaaSKit[User], caplog: pytest.LogCaptureFixture
) -> None:
    assert isinstance(kit.runner, InProcessRunner)
    kit.runner.backoff = BACKOFF
    outbox = MemorySender()
    outbox.failure = EmailDeliveryError("smtp.test:587", "connection refused")
    kit.mailer.sender = outbox

    response = await register(client)
    await kit.runner.drain()

    assert response.status_code == 201
    assert outbox.outbox == []
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "saaskit.tasks"]
    assert [r.getMessage() for r in errors] == ["task email.verify failed after 4 attempts"]

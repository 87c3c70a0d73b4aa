"""The Celery runner without a worker: wiring, configuration, publishing, failures.

Running tasks is tested with a real worker process in ``test_celery_e2e.py``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.exceptions import MissingExtra, ServiceUnavailable
from saaskit.models import User
from saaskit.settings import TaskSettings
from saaskit.tasks.celery import RUN_TASK, BrokerNotConfigured, CeleryRunner, retry_delay
from saaskit.tasks.runner import InProcessRunner
from tests.helpers import TEST_REDIS_URL, KitFactory
from tests.loopwatch import BesideTheLoop
from tests.ports import free_port

BROKER = "redis://127.0.0.1:6379/15"  # never connected to by the tests that use it


def celery_kit(make_kit: KitFactory, **tasks: Any) -> Any:
    return make_kit(redis_url=BROKER, tasks={"backend": "celery", **tasks})


async def test_the_default_runner_is_in_process(kit: SaaSKit[User]) -> None:
    assert isinstance(kit.runner, InProcessRunner)


async def test_a_celery_backend_gets_a_celery_runner_on_the_kit_app(make_kit: KitFactory) -> None:
    kit = await celery_kit(make_kit)

    assert isinstance(kit.runner, CeleryRunner)
    assert kit.runner.app is kit.celery_app
    assert kit.runner.queue == "saaskit"
    assert RUN_TASK in kit.celery_app.tasks


async def test_each_kit_app_runs_its_own_kit_tasks(make_kit: KitFactory) -> None:
    """Two kits in one process: each Celery app's task is bound to its own kit."""
    first, second = await celery_kit(make_kit), await celery_kit(make_kit)
    ran: list[str] = []

    def recorder(label: str) -> Any:
        async def task(payload: dict[str, Any]) -> None:
            ran.append(label)

        return task

    first.tasks["mine"], second.tasks["mine"] = recorder("first"), recorder("second")
    try:
        # Called directly (no worker, no eager mode): the task body as a worker runs it.
        first.celery_app.tasks[RUN_TASK].run("mine", {})
        second.celery_app.tasks[RUN_TASK].run("mine", {})
    finally:
        for kit in (first, second):
            kit.celery_app.saaskit_closer.loop.stop()

    assert ran == ["first", "second"]


async def test_the_broker_defaults_to_redis_url_and_is_reliable(make_kit: KitFactory) -> None:
    kit = await celery_kit(make_kit, task_time_limit=60)
    conf = kit.celery_app.conf

    assert conf.broker_url == BROKER
    assert conf.task_default_queue == "saaskit"
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_ignore_result is True
    assert conf.result_backend is None
    assert conf.accept_content == ["json"]
    assert conf.task_time_limit == 90  # the task is cancelled at 60 s, the process killed at 90
    options = conf.broker_transport_options
    assert options["visibility_timeout"] >= 2 * (600 + 60)
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 5.0


async def test_an_explicit_broker_queue_and_result_backend_win(make_kit: KitFactory) -> None:
    kit = await celery_kit(
        make_kit,
        broker_url="redis://127.0.0.1:6379/14",
        result_backend="redis://127.0.0.1:6379/13",
        queue="emails",
    )
    conf = kit.celery_app.conf

    assert conf.broker_url == "redis://127.0.0.1:6379/14"
    assert conf.result_backend == "redis://127.0.0.1:6379/13"
    assert conf.task_ignore_result is False
    assert conf.task_default_queue == "emails"


async def test_celery_without_a_broker_is_refused_with_the_fix(make_kit: KitFactory) -> None:
    with pytest.raises(BrokerNotConfigured, match="SAASKIT_TASKS__BROKER_URL"):
        await make_kit(tasks={"backend": "celery"})


def test_production_refuses_celery_without_a_broker() -> None:
    values: dict[str, Any] = {
        "secret_key": "a-production-secret-key-that-is-long-enough-0123",
        "tasks": {"backend": "celery"},
    }
    assert any("SAASKIT_TASKS__BROKER_URL" in p for p in SaaSKitSettings(**values).problems())
    with pytest.raises(ValueError, match="no broker is configured"):
        SaaSKitSettings(environment="production", **values)
    with_redis = SaaSKitSettings(environment="production", redis_url=BROKER, **values)
    assert with_redis.problems() == []


def test_backoff_settings_must_be_in_order() -> None:
    with pytest.raises(ValueError, match="retry_backoff_max"):
        TaskSettings(retry_backoff=10, retry_backoff_max=5)


def test_retry_delays_double_up_to_the_cap() -> None:
    settings = TaskSettings(retry_backoff=2, retry_backoff_max=10)
    assert [retry_delay(settings, n) for n in range(5)] == [2, 4, 8, 10, 10]


async def test_a_missing_celery_names_the_extra(
    make_kit: KitFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "celery" else find_spec(name)
    )
    with pytest.raises(MissingExtra, match=r"pip install 'saaskit\[celery\]'"):
        await celery_kit(make_kit)


async def test_an_unknown_task_is_refused_before_publishing(make_kit: KitFactory) -> None:
    kit = await celery_kit(make_kit)
    with pytest.raises(KeyError, match="unknown task 'nope'"):
        await kit.runner.enqueue("nope", {})


async def test_an_unreachable_broker_fails_the_enqueue_with_503(make_kit: KitFactory) -> None:
    broker = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: connection refused
    kit = await celery_kit(make_kit, broker_url=broker, broker_timeout=0.5)

    with pytest.raises(ServiceUnavailable):
        await kit.runner.enqueue("email.password_changed", {"to": "a@example.com"})


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


async def test_enqueue_never_blocks_the_event_loop(
    make_kit: KitFactory, silent_broker: str
) -> None:
    """Publishing to a broker that hangs takes seconds; the loop keeps running meanwhile."""
    kit = await celery_kit(make_kit, broker_url=silent_broker, broker_timeout=0.5)
    publishing = BesideTheLoop(kit.celery_app.send_task, asyncio.get_running_loop())
    kit.celery_app.send_task = publishing
    started = time.perf_counter()
    with pytest.raises(ServiceUnavailable):
        await kit.runner.enqueue("email.password_changed", {"to": "a@example.com"})

    assert time.perf_counter() - started >= 0.5  # the publish really waited for the broker
    # ... on another thread, while the loop kept running (no upper bound on any time).
    publishing.assert_ran_beside_the_loop()


@pytest.mark.skipif(not TEST_REDIS_URL, reason="publishing needs SAASKIT_TEST_REDIS_URL")
async def test_enqueue_puts_the_task_on_its_queue_without_showing_the_payload(
    make_kit: KitFactory,
) -> None:
    import redis.asyncio as aioredis

    assert TEST_REDIS_URL
    queue = f"test-{uuid.uuid4().hex}"
    kit = await make_kit(redis_url=TEST_REDIS_URL, tasks={"backend": "celery", "queue": queue})
    client = aioredis.from_url(TEST_REDIS_URL)
    try:
        await kit.runner.enqueue("email.reset", {"to": "a@example.com", "token": "secret-token"})
        await kit.runner.drain()  # nothing to wait for: the broker has it already

        [raw] = await client.lrange(queue, 0, -1)
        message = json.loads(raw)
        headers = message["headers"]
        assert headers["task"] == RUN_TASK
        assert "secret-token" not in headers["argsrepr"]
        assert headers["argsrepr"] == "('email.reset', ...)"
        assert message["properties"]["delivery_info"]["routing_key"] == queue
    finally:
        await client.delete(queue, f"_kombu.binding.{queue}")
        await client.aclose()

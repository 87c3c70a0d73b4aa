"""A host app written to a temporary folder, a real ``saaskit worker`` process for it, and
a real SMTP server, for the Celery end-to-end tests."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

from tests.cli.helpers import saaskit_command, subprocess_env
from tests.email.helpers import CollectingHandler, Delivered, SMTPServer
from tests.helpers import TEST_REDIS_URL

T = TypeVar("T")

HOST_APP = '''\
"""A host app as a team would write it, with one task of its own."""

import asyncio
import asyncio
import json
import os
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select

from saaskit import SaaSKit, SaaSKitSettings

kit = SaaSKit(SaaSKitSettings(**json.loads({settings!r})))
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)


async def where_am_i(payload: dict[str, Any]) -> None:
    """Uses the database pool and the store: which process and event loop ran it."""
    async with kit.session_factory() as db:
        users = await db.scalar(select(func.count()).select_from(kit.user_model))
    place = f"{{users}}:{{os.getpid()}}:{{id(asyncio.get_running_loop())}}"
    await kit.store.put(payload["key"], place.encode(), ttl=300)


kit.tasks["test.where_am_i"] = where_am_i
'''


@dataclass
class HostApp:
    """The module written by :func:`write_host_app` and what it was configured with."""

    module: str
    queue: str
    store_prefix: str


def write_host_app(
    folder: Path,
    *,
    database_url: str,
    redis_url: str,
    smtp_port: int,
    verify_on_register: bool = True,
    billing: dict[str, Any] | None = None,
    **tasks: Any,
) -> HostApp:
    """Write ``folder/<module>.py``: a kit on Celery with a queue and key prefix of its own,
    sending email through ``127.0.0.1:smtp_port``; fast retries unless ``tasks`` says."""
    unique = uuid.uuid4().hex[:12]
    app = HostApp(f"hostapp_{unique}", f"test-tasks-{unique}", f"test:{unique}:")
    settings = {
        "database_url": database_url,
        "redis_url": redis_url,
        "secret_key": "celery-e2e-secret-key-that-is-long-enough-0123",
        "auth": {"bcrypt_rounds": 4, "send_verification_on_register": verify_on_register},
        "store": {"prefix": app.store_prefix},
        "tasks": {
            "backend": "celery",
            "queue": app.queue,
            "retry_backoff": 0.5,
            "retry_backoff_max": 1.0,
            "max_retries": 60,
            **tasks,
        },
        "email": {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_security": "none",
            "smtp_timeout": 5,
            "from_address": "no-reply@acme.test",
            "frontend_url": "https://app.acme.test",
        },
        "billing": billing or {},
    }
    source = HOST_APP.format(settings=json.dumps(settings))
    (folder / f"{app.module}.py").write_text(source, "utf-8")
    return app


@dataclass
class Worker:
    """A running ``saaskit worker`` process (a process group of its own)."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")


@contextmanager
def running_worker(folder: Path, app: HostApp, *options: str) -> Iterator[Worker]:
    """Start ``saaskit worker --app <module>:kit OPTIONS`` in ``folder``; on exit, stop it
    with SIGTERM (SIGKILL after 20 s) and make sure none of its processes is left."""
    log = folder / f"worker-{app.module}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*saaskit_command(), "worker", "--app", f"{app.module}:kit", *options],
            cwd=folder,
            env=subprocess_env(),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: children are found and stopped
        )
    worker = Worker(process, log)
    try:
        yield worker
    finally:
        try:
            _stop_group(process)
        finally:
            _forget(app)  # after the worker, which gives back the tasks it held on stopping


def _forget(app: HostApp) -> None:
    """Delete the test's queue and store keys from Redis."""
    import redis

    if not TEST_REDIS_URL:
        return  # the broker was a redis-server of the test's own, gone with it
    client = redis.Redis.from_url(TEST_REDIS_URL)
    with client:
        keys = [app.queue, f"_kombu.binding.{app.queue}", f"_kombu.binding_permanent.{app.queue}"]
        keys += list(client.scan_iter(match=f"{app.store_prefix}*"))
        client.delete(*keys)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    group = process.pid
    if process.poll() is None:
        os.killpg(group, signal.SIGTERM)  # Celery's warm shutdown
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            process.wait()
            raise AssertionError("the worker did not stop within 20 s of SIGTERM") from None
    deadline = time.monotonic() + 10
    while True:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return  # no process of the group is left
        if time.monotonic() > deadline:
            os.killpg(group, signal.SIGKILL)
            raise AssertionError("worker processes were left behind")
        time.sleep(0.1)


async def wait_for(
    check: Callable[[], T | None], *, what: str, worker: Worker, seconds: float = 30
) -> T:
    """Poll ``check`` until it returns something truthy; fail with the worker's log."""

    async def poll() -> T | None:
        return check()

    return await wait_until(poll, what=what, worker=worker, seconds=seconds)


async def wait_until(
    check: Callable[[], Awaitable[T | None]], *, what: str, worker: Worker, seconds: float = 30
) -> T:
    """:func:`wait_for` with an async ``check``."""
    deadline = time.monotonic() + seconds
    while True:
        found = await check()
        if found:
            return found
        if worker.process.poll() is not None:
            raise AssertionError(f"the worker exited while waiting for {what}:\n{worker.output()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {seconds}s; worker log:\n{worker.output()}")
        await asyncio.sleep(0.1)


@contextmanager
def smtp_server(port: int) -> Iterator[SMTPServer]:
    """A plain aiosmtpd server on ``127.0.0.1:port`` that collects what it receives."""
    state = SMTPServer("127.0.0.1", port)
    controller = Controller(CollectingHandler(state), hostname=state.host, port=port)
    controller.start()
    try:
        yield state
    finally:
        controller.stop()


LINK = re.compile(r"https://app\.acme\.test/reset-password\?token=[^\s\"<>]+")


def reset_token(delivered: list[Delivered], to: str) -> str | None:
    """The token of the reset link emailed to ``to``, if one arrived."""
    for message in delivered:
        if to in message.rcpt_tos:
            match = LINK.search(message.part("text/plain"))
            if match:
                return parse_qs(urlsplit(match.group()).query)["token"][0]
    return None

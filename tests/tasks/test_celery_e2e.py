"""End to end with a real Celery worker process and real Redis.

A host app module is written to a temporary folder; ``saaskit worker --app module:kit``
runs as a subprocess; the test calls the same app in-process (httpx ASGITransport), and a
real SMTP server (aiosmtpd on 127.0.0.1) receives what the worker sends.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.tasks.celery import CeleryRunner
from tests.helpers import PASSWORD, TEST_REDIS_URL, register
from tests.ports import free_port
from tests.tasks.celery_support import (
    HostApp,
    reset_token,
    running_worker,
    smtp_server,
    wait_for,
    wait_until,
    write_host_app,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not TEST_REDIS_URL,
        reason="the Celery end-to-end tests need Redis: set SAASKIT_TEST_REDIS_URL "
        "(e.g. redis://127.0.0.1:6379/0)",
    ),
]

EMAIL = "alice@example.com"
NEW_PASSWORD = "a brand new passphrase"


@asynccontextmanager
async def host_app(
    folder: Path, app: HostApp, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[ModuleType, httpx.AsyncClient]]:
    """Import the host module here too (the app side) and a client for its app."""
    monkeypatch.syspath_prepend(str(folder))
    module = importlib.import_module(app.module)
    kit: SaaSKit[Any] = module.kit
    assert isinstance(kit.runner, CeleryRunner)
    transport = httpx.ASGITransport(app=module.app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield module, client
    finally:
        await kit.aclose()
        sys.modules.pop(app.module, None)


async def test_forgot_password_is_emailed_by_the_worker_and_the_link_works(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert TEST_REDIS_URL
    port = free_port()
    app = write_host_app(
        tmp_path, database_url=database_url, redis_url=TEST_REDIS_URL, smtp_port=port
    )
    with (
        smtp_server(port) as smtp,
        running_worker(tmp_path, app, "--pool", "solo") as worker,
    ):
        async with host_app(tmp_path, app, monkeypatch) as (_, client):
            assert (await register(client, EMAIL)).status_code == 201

            response = await client.post("/api/v1/auth/forgot-password", json={"email": EMAIL})
            assert response.status_code == 202, response.text

            token = await wait_for(
                lambda: reset_token(smtp.delivered, EMAIL), what="reset email", worker=worker
            )
            response = await client.post(
                "/api/v1/auth/reset-password", json={"token": token, "password": NEW_PASSWORD}
            )
            assert response.status_code == 204, response.text
            login = await client.post(
                "/api/v1/auth/login", json={"email": EMAIL, "password": NEW_PASSWORD}
            )
            assert login.status_code == 200
            # The reset itself queues a "password changed" notice, delivered the same way.
            await wait_for(
                lambda: [m for m in smtp.delivered if "changed" in m.message["Subject"].lower()],
                what="password-changed email",
                worker=worker,
            )
    subjects = [m.message["Subject"] for m in smtp.delivered]
    assert len(subjects) == 3, subjects  # verification, reset, password changed: once each
    assert all(m.rcpt_tos == [EMAIL] for m in smtp.delivered)


async def test_an_smtp_outage_is_retried_until_the_email_gets_through(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert TEST_REDIS_URL
    port = free_port()  # nothing listens there yet: the mail server is down
    app = write_host_app(
        tmp_path,
        database_url=database_url,
        redis_url=TEST_REDIS_URL,
        smtp_port=port,
        verify_on_register=False,
    )
    with running_worker(tmp_path, app, "--pool", "solo") as worker:
        async with host_app(tmp_path, app, monkeypatch) as (_, client):
            assert (await register(client, EMAIL)).status_code == 201
            response = await client.post("/api/v1/auth/forgot-password", json={"email": EMAIL})
            assert response.status_code == 202

            await wait_for(
                lambda: worker.output().count("task email.reset failed") >= 2,
                what="two failed delivery attempts",
                worker=worker,
            )
            with smtp_server(port) as smtp:  # the mail server comes back
                token = await wait_for(
                    lambda: reset_token(smtp.delivered, EMAIL), what="reset email", worker=worker
                )
                assert len(smtp.delivered) == 1  # once, though it was attempted several times
                response = await client.post(
                    "/api/v1/auth/reset-password",
                    json={"token": token, "password": NEW_PASSWORD},
                )
                assert response.status_code == 204
                await wait_for(
                    lambda: len(smtp.delivered) == 2, what="password-changed email", worker=worker
                )
    log = worker.output()
    assert token not in log  # the payload (a reset token) stays out of Celery's logs
    assert "retry 1 of 60 in 0.5s" in log
    assert "retry 2 of 60 in 1.0s" in log
    assert "failed after" not in log  # never given up


async def test_prefork_children_keep_one_loop_and_warm_pools_across_tasks(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tasks using the database and Redis run one after another in a forked child: the
    connections pooled by the first are still valid for the next (same process, same loop)."""
    assert TEST_REDIS_URL
    app = write_host_app(
        tmp_path,
        database_url=database_url,
        redis_url=TEST_REDIS_URL,
        smtp_port=free_port(),
        verify_on_register=False,
    )
    with running_worker(tmp_path, app, "--pool", "prefork", "--concurrency", "1") as worker:
        async with host_app(tmp_path, app, monkeypatch) as (module, client):
            assert (await register(client, EMAIL, PASSWORD)).status_code == 201
            kit: SaaSKit[Any] = module.kit
            keys = [f"where-{n}" for n in range(4)]
            for key in keys:
                await kit.runner.enqueue("test.where_am_i", {"key": key})

            async def places() -> list[bytes | None] | None:
                values = await kit.store.get_many(keys)
                return values if all(values) else None

            found = await wait_until(places, what="four task results", worker=worker)
    values = {value.decode() for value in found if value}
    assert len(values) == 1, values  # one child process, one event loop for all four
    users, pid, _ = values.pop().split(":")
    assert users == "1"
    assert int(pid) != worker.process.pid  # run in the forked child, not the main process
    assert "not retried" not in worker.output()

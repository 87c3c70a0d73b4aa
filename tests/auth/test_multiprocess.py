"""Two real app processes (uvicorn) sharing one Redis and one database: sessions,
revocation and rate limits hold across processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from saaskit.migrations import packaged_config, upgrade
from tests.databases import scratch_database
from tests.helpers import PASSWORD, TEST_REDIS_URL
from tests.ports import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not TEST_REDIS_URL, reason="sharing state across processes needs SAASKIT_TEST_REDIS_URL"
    ),
]

APP_MODULE = """
import os

from fastapi import FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.store.redis import RedisStore

settings = SaaSKitSettings()
# A key prefix of its own, so the test never touches other data in this Redis.
store = RedisStore(settings.redis_url, prefix=os.environ["MP_STORE_PREFIX"])
kit = SaaSKit(settings, store=store)
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)
"""


@dataclass
class App:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.post(self.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]

    def get(self, path: str, token: str) -> httpx.Response:
        return httpx.get(self.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)


@contextmanager
def shared_database(folder: Path) -> Iterator[str]:
    """A migrated database of its own, that both processes open."""
    with scratch_database(folder, "mp") as url:
        upgrade(packaged_config(url))
        yield url


@contextmanager
def redis_prefix() -> Iterator[str]:
    """A fresh key prefix; its keys are deleted afterwards (nothing else is flushed)."""
    import redis

    assert TEST_REDIS_URL
    prefix = f"test-mp:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(TEST_REDIS_URL)
        try:
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def start(folder: Path, env: dict[str, str], name: str, stack: ExitStack) -> App:
    """Start ``uvicorn mp_app:app`` on a free port; it is terminated when ``stack`` closes."""
    port = free_port()
    log = folder / f"{name}.log"
    command = [sys.executable, "-m", "uvicorn", "mp_app:app", "--app-dir", str(folder)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    stack.callback(stop, process)
    return App(process, f"http://127.0.0.1:{port}", log)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_healthy(app: App, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert app.process.poll() is None, f"exited early:\n{app.log.read_text()}"
        try:
            if httpx.get(app.url + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"never became healthy:\n{app.log.read_text()}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def two_apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, App]]:
    """Two processes of one app, started once for this module (each test uses its own
    emails)."""
    assert TEST_REDIS_URL
    folder = tmp_path_factory.mktemp("multiprocess")
    (folder / "mp_app.py").write_text(textwrap.dedent(APP_MODULE))
    with ExitStack() as stack:
        database = stack.enter_context(shared_database(folder))
        prefix = stack.enter_context(redis_prefix())
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAASKIT_")}
        env.update(
            SAASKIT_DATABASE_URL=database,
            SAASKIT_REDIS_URL=TEST_REDIS_URL,
            SAASKIT_SECRET_KEY="multiprocess-secret-key-that-is-long-enough-42",
            SAASKIT_AUTH__BCRYPT_ROUNDS="4",
            SAASKIT_RATE_LIMIT__LOGIN_ACCOUNT="3/60",
            MP_STORE_PREFIX=prefix,
        )
        apps = start(folder, env, "app-a", stack), start(folder, env, "app-b", stack)
        for app in apps:
            wait_healthy(app)
        yield apps


def log_in(app: App, email: str = "alice@example.com") -> dict[str, str]:
    response = app.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


def test_a_session_opened_on_one_process_is_refreshed_and_revoked_on_the_other(
    two_apps: tuple[App, App],
) -> None:
    a, b = two_apps
    body = {"email": "alice@example.com", "password": PASSWORD}
    assert a.post("/api/v1/auth/register", json=body).status_code == 201
    first = log_in(a)

    refreshed = b.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    tokens = refreshed.json()
    assert b.get("/api/v1/users/me", tokens["access_token"]).status_code == 200

    assert (
        a.post(
            "/api/v1/auth/logout", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        ).status_code
        == 204
    )

    assert b.get("/api/v1/users/me", tokens["access_token"]).status_code == 401
    again = b.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


def test_refresh_token_reuse_on_one_process_revokes_the_session_on_the_other(
    two_apps: tuple[App, App],
) -> None:
    a, b = two_apps
    body = {"email": "bob@example.com", "password": PASSWORD}
    assert b.post("/api/v1/auth/register", json=body).status_code == 201
    stolen = log_in(b, "bob@example.com")
    rotated = a.post("/api/v1/auth/refresh", json={"refresh_token": stolen["refresh_token"]})
    assert rotated.status_code == 200

    replay = b.post("/api/v1/auth/refresh", json={"refresh_token": stolen["refresh_token"]})

    assert replay.status_code == 401
    assert a.get("/api/v1/users/me", rotated.json()["access_token"]).status_code == 401


def test_login_rate_limit_is_counted_across_processes(two_apps: tuple[App, App]) -> None:
    a, b = two_apps
    wrong = {"email": "carol@example.com", "password": "wrong password"}

    statuses = [app.post("/api/v1/auth/login", json=wrong).status_code for app in (a, a, b, b)]

    assert statuses == [401, 401, 401, 429]

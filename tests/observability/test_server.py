"""End to end on a real ``saaskit run --workers 2``: metrics add up across the worker
processes, JSON log lines carry the request id (the request's and its task's), and
SIGTERM lets in-flight requests (and their password hashing) finish."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from saaskit.migrations import packaged_config, upgrade
from tests.databases import scratch_database
from tests.helpers import PASSWORD, bearer
from tests.observability.helpers import METRICS_TOKEN, value
from tests.ports import free_port
from tests.secret_scan import SecretRegistry

pytestmark = pytest.mark.slow

SECRET_KEY = "server-test-secret-key-that-is-long-enough-42"

APP_MODULE = """
import asyncio
from pathlib import Path

from fastapi import FastAPI

from saaskit import SaaSKit

kit = SaaSKit()
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)


@app.post("/slow-hash")
async def slow_hash() -> dict[str, str]:
    # In flight when the test sends SIGTERM: it marks that it started, waits, then hashes.
    Path("started").write_text("yes")
    await asyncio.sleep(1.0)
    return {"hash": await kit.passwords.hash("in-flight password 1")}
"""


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    folder: Path

    def lines(self) -> list[dict[str, object]]:
        """The JSON log lines written so far (other output is skipped)."""
        parsed = []
        for line in self.log.read_text("utf-8", "replace").splitlines():
            if line.startswith("{"):
                parsed.append(json.loads(line))
        return parsed


def serve(folder: Path, database: str) -> Server:
    port = free_port()
    log = folder / f"server-{port}.log"
    (folder / "prom").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAASKIT_")}
    env.update(
        SAASKIT_DATABASE_URL=database,
        SAASKIT_SECRET_KEY=SECRET_KEY,
        SAASKIT_AUTH__BCRYPT_ROUNDS="4",
        SAASKIT_METRICS__ENABLED="true",
        SAASKIT_METRICS__TOKEN=METRICS_TOKEN,
        SAASKIT_LOG__FORMAT="json",
        PROMETHEUS_MULTIPROC_DIR=str(folder / "prom"),
    )
    command = [sys.executable, "-m", "saaskit.cli", "run", "ops_app:app", "--workers", "2"]
    command += ["--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=sink, stderr=sink)
    server = Server(process, f"http://127.0.0.1:{port}", log, folder)
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, f"exited early:\n{log.read_text()}"
        try:
            if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"never became healthy:\n{log.read_text()}"
        time.sleep(0.1)
    # Both workers are up once each has written its metric files.
    while len({p.stem.rsplit("_", 1)[-1] for p in (folder / "prom").glob("*.db")}) < 2:
        assert time.monotonic() < deadline, "the second worker never started"
        time.sleep(0.1)
    return server


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("ops-server")
    (folder / "ops_app.py").write_text(textwrap.dedent(APP_MODULE))
    with scratch_database(folder, "ops") as url:
        upgrade(packaged_config(url))
        yield folder, url


@pytest.fixture(scope="module")
def server(database: tuple[Path, str]) -> Iterator[Server]:
    folder, url = database
    running = serve(folder, url)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            stop(running.process)


def test_a_scrape_counts_the_logins_of_both_worker_processes(server: Server) -> None:
    body = {"email": "metrics@example.com", "password": PASSWORD}
    assert httpx.post(server.url + "/api/v1/auth/register", json=body).status_code == 201
    logins = 12
    for _ in range(logins):  # a new connection each: the kernel spreads them over the workers
        assert httpx.post(server.url + "/api/v1/auth/login", json=body).status_code == 200
    wrong = {**body, "password": "wrong " + PASSWORD}
    assert httpx.post(server.url + "/api/v1/auth/login", json=wrong).status_code == 401

    pages = [
        httpx.get(server.url + "/metrics", headers=bearer(METRICS_TOKEN)).text for _ in range(4)
    ]
    refused = httpx.get(server.url + "/metrics")

    workers = {p.stem.rsplit("_", 1)[-1] for p in (server.folder / "prom").glob("counter_*.db")}
    assert len(workers) >= 2, "two worker processes write samples"
    for page in pages:  # whichever worker answered, it reports both
        assert value(page, "saaskit_logins_total", outcome="ok") == logins
        assert value(page, "saaskit_logins_total", outcome="failed") == 1
        assert value(page, "saaskit_registrations_total") == 1
        assert (
            value(page, "saaskit_http_requests_total", route="/api/v1/auth/login", status="200")
            == logins
        )
    assert refused.status_code == 401


def test_json_log_lines_carry_the_request_id_of_the_request_and_of_its_task(
    server: Server,
) -> None:
    body = {"email": "logs@example.com", "password": PASSWORD}
    response = httpx.post(
        server.url + "/api/v1/auth/register", json=body, headers={"X-Request-ID": "e2e-signup-1"}
    )
    assert response.status_code == 201
    assert response.headers["x-request-id"] == "e2e-signup-1"

    deadline = time.monotonic() + 30
    while True:
        mine = [line for line in server.lines() if line.get("request_id") == "e2e-signup-1"]
        loggers = {line["logger"] for line in mine}
        if {"uvicorn.access", "saaskit.email"} <= loggers:
            break
        assert time.monotonic() < deadline, f"missing lines: {mine}"
        time.sleep(0.1)
    email = next(line for line in mine if line["logger"] == "saaskit.email")
    assert "logs@example.com" in str(email["message"])  # the task's line (the email)
    for line in mine:
        assert set(line) >= {"time", "level", "logger", "message", "request_id"}


def test_the_servers_logs_hold_no_secret(server: Server) -> None:
    body = {"email": "secrets@example.com", "password": PASSWORD}
    # One connection, so one worker: without Redis each worker keeps its own sessions.
    with httpx.Client(base_url=server.url) as client:
        assert client.post("/api/v1/auth/register", json=body).status_code == 201
        tokens = client.post("/api/v1/auth/login", json=body).json()
        me = client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 200
        refreshed = client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 200
        client.get("/metrics", headers=bearer(METRICS_TOKEN))

    registry = SecretRegistry()
    registry.add("password", PASSWORD)
    registry.add("metrics token", METRICS_TOKEN)
    registry.add("signing key", SECRET_KEY)
    for kind, token in (("access token", "access_token"), ("refresh token", "refresh_token")):
        registry.add(kind, tokens[token])
        registry.add(kind, refreshed.json()[token])
    text = server.log.read_text("utf-8", "replace")
    assert registry.leaks(iter(text.splitlines())) == []


def test_sigterm_lets_an_in_flight_request_and_its_hashing_finish(
    database: tuple[Path, str],
) -> None:
    folder, url = database
    marker = folder / "started"
    marker.unlink(missing_ok=True)
    running = serve(folder, url)
    result: dict[str, httpx.Response] = {}

    def call() -> None:
        result["response"] = httpx.post(running.url + "/slow-hash", timeout=30)

    caller = threading.Thread(target=call)
    caller.start()
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline, running.log.read_text()
            time.sleep(0.02)
        code = stop(running.process)
    finally:
        caller.join(30)

    response = result["response"]
    assert response.status_code == 200, running.log.read_text()
    assert response.json()["hash"].startswith("$2")
    assert code == 0, running.log.read_text()
    messages = [str(line["message"]) for line in running.lines()]
    assert any("Waiting for application shutdown" in m for m in messages), messages

"""Helpers for the command-line tests: invoking ``saaskit``, processes and servers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner, Result

from saaskit.cli import app
from tests.helpers import TEST_REDIS_URL
from tests.ports import free_port

STRONG_SECRET = "cli-test-secret-key-that-is-long-enough-0123456789"


def invoke(*args: str, env: Mapping[str, str] | None = None, input: str | None = None) -> Result:
    """Run ``saaskit ARGS`` in-process."""
    return CliRunner().invoke(app, list(args), env=dict(env or {}), input=input)


def backend_env(database_url: str) -> dict[str, str]:
    """Settings for the database (and Redis, when the suite runs on it) under test."""
    env = {"SAASKIT_DATABASE_URL": database_url}
    if TEST_REDIS_URL:
        env["SAASKIT_REDIS_URL"] = TEST_REDIS_URL
    return env


def table_columns(url: str) -> dict[str, set[str]]:
    """Every table of the database at ``url`` and its column names."""

    async def read() -> dict[str, set[str]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: {
                        table: {column["name"] for column in inspect(sync).get_columns(table)}
                        for table in inspect(sync).get_table_names()
                    }
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


def saaskit_command() -> list[str]:
    """The installed ``saaskit`` console script (or ``python -m saaskit.cli``)."""
    script = Path(sys.executable).parent / "saaskit"
    return [str(script)] if script.exists() else [sys.executable, "-m", "saaskit.cli"]


def subprocess_env(**settings: str) -> dict[str, str]:
    """This process's environment without SAASKIT_* settings, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAASKIT_")}
    env.update({"SAASKIT_AUTH__BCRYPT_ROUNDS": "4", **settings})
    return env


def run_saaskit(*args: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``saaskit`` command to completion."""
    return subprocess.run(
        [*saaskit_command(), *args],
        cwd=cwd,
        env=subprocess_env(**settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class Server:
    """A ``saaskit`` server process started by :func:`serving`."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text()


@contextmanager
def serving(*args: str, cwd: Path, ready_path: str, **settings: str) -> Iterator[Server]:
    """Run ``saaskit ARGS --port <free port>`` until ``ready_path`` answers; stop it after.

    The process gets SIGTERM at the end and must shut down within 15 seconds.
    """
    port = free_port()
    log = cwd / f"server-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*saaskit_command(), *args, "--port", str(port)],
            cwd=cwd,
            env=subprocess_env(**settings),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_until_ready(server, ready_path)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise


def _wait_until_ready(server: Server, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited early:\n{server.output()}")
        try:
            httpx.get(server.base_url + path, timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer after {timeout}s:\n{server.output()}") from None
            time.sleep(0.1)


def stopped_gracefully(server: Server) -> bool:
    """uvicorn finished its shutdown (it re-raises SIGTERM afterwards, so -15 is fine)."""
    return server.process.returncode in (0, -signal.SIGTERM) and (
        "Finished server process" in server.output()
    )

"""Real processes for the end-to-end tests: a private redis-server, uvicorn app
processes, nginx. Each is started on a free port of 127.0.0.1 and always stopped by the
caller's ``ExitStack`` (or ``finally``), so no process outlives its test."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.ports import free_port

APP_MODULE = """
from fastapi import FastAPI

from saaskit import SaaSKit, SaaSKitSettings

kit = SaaSKit(SaaSKitSettings())
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)
"""


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` every 50 ms for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes], *, timeout: float = 15) -> None:
    """Terminate (then kill) ``process`` and reap it."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no shutdown handlers, no flushing, like a crashed host."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=15)


# ---- redis-server -----------------------------------------------------------------------
REDIS_SERVER = shutil.which("redis-server")


class RedisServer:
    """A private, non-persistent redis-server on a fixed port (restartable on it)."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        assert REDIS_SERVER, "redis-server is not on PATH"
        self.folder = folder
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS_SERVER
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        with (self.folder / "redis.log").open("ab") as sink:
            self.process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        wait_until(self._answers, 10, f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, (self.folder / "redis.log").read_text()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            kill(self.process)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


# ---- uvicorn --------------------------------------------------------------------------
@dataclass
class App:
    process: subprocess.Popen[bytes]
    url: str
    log: Path


def app_environment(**settings: str) -> dict[str, str]:
    """This process's environment without SAASKIT_* (no .env either), plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAASKIT_")}
    env.update(settings)
    return env


def start_app(folder: Path, env: dict[str, str], name: str, stack: ExitStack) -> App:
    """``uvicorn e2e_app:app`` on a free port; stopped when ``stack`` closes."""
    module = folder / "e2e_app.py"
    if not module.exists():
        module.write_text(APP_MODULE)
    port = free_port()
    log = folder / f"{name}.log"
    command = [sys.executable, "-m", "uvicorn", "e2e_app:app", "--app-dir", str(folder)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    stack.callback(stop, process)
    app = App(process, f"http://127.0.0.1:{port}", log)
    wait_until(lambda: _healthy(app), 30, f"{name} to answer /health")
    return app


def _healthy(app: App) -> bool:
    assert app.process.poll() is None, f"exited early:\n{app.log.read_text()}"
    try:
        return httpx.get(app.url + "/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False

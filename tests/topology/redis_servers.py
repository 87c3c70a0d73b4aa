"""redis-server processes for the topology tests: one that speaks only TLS.

Locally these tests skip with the reason when ``redis-server`` is missing or built
without TLS; under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

from tests.e2e.processes import stop, wait_until
from tests.ports import free_port
from tests.topology.certs import Certificates
from tests.topology.postgres import IN_CI

REDIS_SERVER = shutil.which("redis-server")


def missing_tls_redis() -> str | None:
    """Why a TLS redis-server cannot be started here, or None."""
    if REDIS_SERVER is None:
        return "redis-server is not installed (Debian package `redis-server`)"
    result = subprocess.run(
        [REDIS_SERVER, "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    version = result.stdout.split("v=", 1)[-1].split()[0] if "v=" in result.stdout else "0"
    if int(version.split(".")[0]) < 6:
        return f"redis-server {version} has no TLS (6.0 or later is needed)"
    return None


def require_tls_redis() -> None:
    """Skip locally, fail under CI, when a TLS redis-server cannot be started."""
    reason = missing_tls_redis()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI must run the Redis TLS tests: {reason}")
    pytest.skip(reason)


class TLSRedis:
    """redis-server with ``--port 0 --tls-port N``: no plaintext port at all; clients
    must present a certificate signed by the test CA (``--tls-auth-clients yes``)."""

    def __init__(self, folder: Path, certs: Certificates) -> None:
        self.folder = folder
        self.certs = certs
        self.port = free_port()
        self.url = f"rediss://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS_SERVER
        command = [REDIS_SERVER, "--port", "0", "--tls-port", str(self.port)]
        command += ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.folder)]
        command += ["--tls-cert-file", str(self.certs.server_cert)]
        command += ["--tls-key-file", str(self.certs.server_key)]
        command += ["--tls-ca-cert-file", str(self.certs.ca), "--tls-auth-clients", "yes"]
        log = self.folder / "redis-tls.log"
        with log.open("ab") as sink:
            self.process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        wait_until(self._answers, 10, f"TLS redis-server on port {self.port}")

    def _answers(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, (self.folder / "redis-tls.log").read_text()
        context = ssl.create_default_context(cafile=str(self.certs.ca))
        context.load_cert_chain(self.certs.client_cert, self.certs.client_key)
        try:
            with (
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
            ):
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


class PlainRedis:
    """A throwaway plaintext, non-cluster redis-server on a free loopback port (the
    full-topology test's Celery broker)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PlainRedis:
        assert REDIS_SERVER
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        log = self.folder / f"redis-{self.port}.log"
        with log.open("ab") as sink:
            self.process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        wait_until(self._answers, 30, f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, (self.folder / f"redis-{self.port}.log").read_text()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

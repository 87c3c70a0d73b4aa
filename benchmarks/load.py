"""Load tools: a uvicorn server in a subprocess, wrk runs, and a login storm client."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``uvicorn APP`` on a free loopback port: one worker, no access log."""

    def __init__(self, app: str, env: dict[str, str], *, source: Path | None = None) -> None:
        """``source``: a ``src`` folder whose saaskit is served instead of this checkout's."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = app
        path = f"{source}{os.pathsep}{ROOT}" if source else str(ROOT)
        self.env = {**os.environ, **env, "PYTHONPATH": path}
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)  # noqa: S603
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.app} exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.app} did not start")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=30)


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(
    url: str, header: str, duration: int, connections: int, path: str = "/api/v1/users/me"
) -> dict[str, float]:
    """``GET path`` (default ``/api/v1/users/me``) with wrk; req/s and latency percentiles (ms)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (or brew install wrk)")
    output = subprocess.run(  # noqa: S603
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-H",
            header,
            f"{url}{path}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = {"connections": connections}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    result["rps"] = float(rps.group(1)) if rps else 0.0
    for pct in ("50", "75", "90", "99"):
        found = re.search(rf"^\s+{pct}%\s+(\S+)", output, re.MULTILINE)
        if found:
            result[f"p{pct}_ms"] = _ms(found.group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = float(errors.group(1)) if errors else 0.0
    return result


class Storm:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def result(self) -> dict[str, Any]:
        out, _ = self.process.communicate(timeout=600)
        data: dict[str, Any] = json.loads(out)
        return data


def login_storm(url: str, clients: int, duration: int, *, background: bool = False) -> Storm:
    """``clients`` loops logging in for ``duration`` seconds, in a separate process."""
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "benchmarks.load", url, str(clients), str(duration)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        # On a shared 2-core box the client must not steal CPU from the server under
        # test (in production clients run elsewhere): it runs at a low priority.
        preexec_fn=lambda: os.nice(10),
    )
    storm = Storm(process)
    if not background:
        storm.result = _cached(storm.result())  # type: ignore[method-assign]
    return storm


def _cached(value: dict[str, Any]) -> Any:
    return lambda: value


async def _logins(url: str, clients: int, duration: int) -> dict[str, Any]:
    import httpx

    from benchmarks.seed import BENCH_PASSWORD

    done = 0
    failed = 0
    end = time.monotonic() + duration

    async def client_loop(index: int) -> None:
        nonlocal done, failed
        email = f"bench{index + 2}@example.com"
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            while time.monotonic() < end:
                response = await client.post(
                    "/api/v1/auth/login", json={"email": email, "password": BENCH_PASSWORD}
                )
                if response.status_code == 200:
                    done += 1
                else:
                    failed += 1

    start = time.monotonic()
    await asyncio.gather(*(client_loop(i) for i in range(clients)))
    elapsed = time.monotonic() - start
    return {"logins": done, "failed": failed, "seconds": elapsed, "per_second": done / elapsed}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_logins(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))))

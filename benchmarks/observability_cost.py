"""CPU time of one ``GET /api/v1/users/me`` with metrics off and on, in one process.

    python benchmarks/observability_cost.py [--requests 3000] [--rounds 7]

The kit's app is called directly as an ASGI app (no sockets, no HTTP parser), so what
is measured is saaskit's own work per request: the store lookup, the middleware, the
response. CPU time (``time.process_time``) is counted, not wall time, so other programs
on a busy machine move the figures much less than a load test's. Rounds alternate
between the variants; the figures are medians. Also measured alone: the request-id and
metrics middleware around an app that does nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi import FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.migrations import packaged_config, upgrade
from saaskit.observability.metrics import MetricsMiddleware, enable_metrics
from saaskit.observability.requestid import RequestIdMiddleware

PASSWORD = "benchmark password 1"
TOKEN = "benchmark-metrics-token-0123456789"
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def scope_for(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def cpu_per_request(app: App, headers: list[tuple[bytes, bytes]], count: int) -> float:
    """Microseconds of CPU per request over ``count`` requests."""
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(count):
        await app(scope_for("/api/v1/users/me", list(headers)), _receive, send)
    took = time.process_time() - started
    if set(statuses) != {200}:
        raise SystemExit(f"unexpected statuses {set(statuses)}")
    return took / count * 1e6


async def kit_app(url: str, **settings: Any) -> tuple[SaaSKit[Any], FastAPI, str]:
    kit = SaaSKit(
        SaaSKitSettings(
            database_url=url,
            secret_key="benchmark-secret-key-that-is-long-enough-0",  # noqa: S106
            rate_limit={"enabled": False},
            auth={"send_verification_on_register": False, "bcrypt_rounds": 4},
            **settings,
        )
    )
    app = FastAPI()
    kit.install(app)
    email = f"bench-{len(settings)}@example.com"
    await kit.users.create(email, PASSWORD)
    _, tokens = await kit.auth.login(email, PASSWORD)
    return kit, app, tokens.access_token


async def main(requests: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        await asyncio.to_thread(upgrade, packaged_config(url))
        off = await kit_app(url)
        on = await kit_app(url, metrics={"enabled": True, "token": TOKEN})

        async def nothing(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        metrics = enable_metrics()
        variants: dict[str, tuple[App, str | None]] = {
            "/me, metrics off": (off[1], off[2]),
            "/me, metrics on": (on[1], on[2]),
            "empty app": (nothing, None),
            "empty app + request id": (RequestIdMiddleware(nothing), None),
            "empty app + request id + metrics": (
                MetricsMiddleware(RequestIdMiddleware(nothing), metrics),
                None,
            ),
        }
        figures: dict[str, list[float]] = {name: [] for name in variants}
        for app, token in variants.values():  # warm-up
            headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
            await cpu_per_request(app, headers, requests // 10)
        for _ in range(rounds):
            for name, (app, token) in variants.items():
                headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
                figures[name].append(await cpu_per_request(app, headers, requests))
        for kit, _, _ in (off, on):
            await kit.aclose()
    medians = {name: statistics.median(values) for name, values in figures.items()}
    for name, value in medians.items():
        print(f"{name:40s} {value:8.1f} µs CPU per request")
    print(
        f"/me with metrics on / off: {medians['/me, metrics on'] / medians['/me, metrics off']:.3f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.rounds))

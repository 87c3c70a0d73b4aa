"""What a hostile body costs the server, next to a normal 422, in one run.

    python benchmarks/hostile_bodies.py

Serves the kit (SQLite, in-process store) with uvicorn and sends, one after another,
``--requests`` requests of each kind, without an account. The server process's CPU time
(user + system, from ``/proc``) over each batch, divided by the requests, is the cost of
one request; each kind is reported as a ratio to the normal 422 (a login with an invalid
email). The bodies:

- ``reported``: the body of the attack report: ~1 MB, 90,000 unknown keys, sent to login,
  register, refresh and forgot-password in turn;
- ``at_limit``: the most unknown keys that fit the 16 KiB limit of those routes;
- ``deep``: 12 KiB of nested arrays;
- ``anonymous_ai``: ~1 MB of unknown keys to ``POST /ai/chat`` (a route that accepts
  large bodies) without a token.

Batches alternate over ``--rounds`` rounds; the figures are medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import Server
from benchmarks.run import SECRET
from benchmarks.seed import sqlite_database

TICKS = os.sysconf("SC_CLK_TCK")
JSON = {"Content-Type": "application/json"}
AUTH_ROUTES = ["login", "register", "refresh", "forgot-password"]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def unknown_keys(count: int) -> bytes:
    return ("{" + ",".join(f'"k{i}":0' for i in range(count)) + "}").encode()


def at_limit() -> bytes:
    count = 1
    while len(unknown_keys(count * 2)) < 16 * 1024:
        count *= 2
    while len(unknown_keys(count + 100)) < 16 * 1024:
        count += 100
    return unknown_keys(count)


def batch(pid: int, send: Callable[[int], int], requests: int) -> tuple[float, set[int]]:
    """CPU seconds per request of the server, and the statuses seen."""
    statuses: set[int] = set()
    start = cpu_seconds(pid)
    for i in range(requests):
        statuses.add(send(i))
    return (cpu_seconds(pid) - start) / requests, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    reported, limit_body = unknown_keys(90_000), at_limit()
    deep = b'{"email": ' + b"[" * 6_000 + b"]" * 6_000 + b"}"
    with sqlite_database() as db:
        env = {
            "SAASKIT_DATABASE_URL": db.url,
            "SAASKIT_SECRET_KEY": SECRET,
            "SAASKIT_RATE_LIMIT__ENABLED": "false",
            "SAASKIT_AI__BASE_URL": "http://127.0.0.1:9/v1",  # mounted, never called
            "BENCH_TARGET": "saaskit",
        }
        with (
            Server("benchmarks.apps:saaskit_app", env) as server,
            httpx.Client(base_url=f"{server.url}/api/v1", timeout=60) as client,
        ):
            assert server.process is not None
            pid = server.process.pid

            def post(path: str, body: bytes) -> int:
                try:
                    return client.post(path, content=body, headers=JSON).status_code
                except httpx.TransportError:  # refused unread: the server hung up
                    return 0

            kinds: dict[str, Callable[[int], int]] = {
                "normal_422": lambda i: post("/auth/login", b'{"email": "nope"}'),
                "reported": lambda i: post(f"/auth/{AUTH_ROUTES[i % 4]}", reported),
                "at_limit": lambda i: post("/auth/login", limit_body),
                "deep": lambda i: post("/auth/register", deep),
                "anonymous_ai": lambda i: post("/ai/chat", reported),
            }
            for send in kinds.values():
                batch(pid, send, 5)  # warm-up
            costs: dict[str, list[float]] = {name: [] for name in kinds}
            seen: dict[str, set[int]] = {name: set() for name in kinds}
            for _ in range(args.rounds):
                for name, send in kinds.items():
                    cost, statuses = batch(pid, send, args.requests)
                    costs[name].append(cost)
                    seen[name] |= statuses
                time.sleep(0.1)
    normal = statistics.median(costs["normal_422"])
    report = {
        name: {
            "cpu_ms_per_request": statistics.median(values) * 1000,
            "vs_normal_422": statistics.median(values) / normal,
            "statuses": sorted(seen[name]),
        }
        for name, values in costs.items()
    }
    report["sizes"] = {"reported": len(reported), "at_limit": len(limit_body), "deep": len(deep)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""``/users/me`` of this checkout against another revision, in one run.

    python benchmarks/compare.py --base 5f4e149          # SQLite + in-process store
    python benchmarks/compare.py --base main --backend postgres
    python benchmarks/compare.py --base d5b95da --head-env SAASKIT_METRICS__ENABLED=true \
        --head-env SAASKIT_METRICS__TOKEN=benchmark-metrics-token-0123456789

Both servers run side by side (the other revision from a temporary ``git worktree``,
served from its own ``src``), on one database seeded by this checkout, with the same
token. wrk rounds alternate between them, so a slow spell of the machine hits both
alike; the figures are medians over the rounds. Used to show that a change did not slow
the protected-route hot path (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import ROOT, Server, run_wrk
from benchmarks.run import database, get_token, server_env


def worktree(stack: ExitStack, revision: str) -> Path:
    """A checkout of ``revision`` in a temporary folder (removed on exit)."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "base"
    subprocess.run(  # noqa: S603
        ["git", "worktree", "add", "--detach", str(folder), revision],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    stack.callback(
        subprocess.run,
        ["git", "worktree", "remove", "--force", str(folder)],
        cwd=ROOT,
        check=False,
        capture_output=True,
    )
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the revision to compare against")
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="sqlite")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--head-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a variable for this checkout's server only, e.g. SAASKIT_METRICS__ENABLED=true",
    )
    args = parser.parse_args()
    head_only = dict(item.split("=", 1) for item in args.head_env)
    admin = os.environ.get(
        "SAASKIT_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    redis_url = None
    if args.backend == "postgres":
        redis_url = os.environ.get("SAASKIT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    with ExitStack() as stack:
        db = stack.enter_context(database(args.backend, admin))
        db.seed(1000)
        base_src = worktree(stack, args.base) / "src"
        env = server_env(db, redis_url)
        if redis_url:  # each server its own key prefix: they share sessions otherwise
            head_env = {**env, "SAASKIT_STORE__PREFIX": f"head{uuid.uuid4().hex[:6]}:"}
            base_env = {**env, "SAASKIT_STORE__PREFIX": f"base{uuid.uuid4().hex[:6]}:"}
        else:
            head_env = base_env = env
        head_env = {**head_env, **head_only}
        servers = {
            "head": stack.enter_context(Server("benchmarks.apps:saaskit_app", head_env)),
            "base": stack.enter_context(
                Server("benchmarks.apps:saaskit_app", base_env, source=base_src)
            ),
        }
        headers = {
            name: f"Authorization: Bearer {asyncio.run(get_token(server.url))}"
            for name, server in servers.items()
        }
        for name, server in servers.items():
            run_wrk(server.url, headers[name], 2, args.concurrency)  # warm-up
        runs: dict[str, list[dict[str, float]]] = {"head": [], "base": []}
        for _ in range(args.rounds):
            for name, server in servers.items():
                result = run_wrk(server.url, headers[name], args.duration, args.concurrency)
                if result["non_2xx"]:
                    raise SystemExit(f"{name}: {result['non_2xx']:.0f} non-2xx responses")
                runs[name].append(result)
    summary: dict[str, Any] = {"base": args.base, "backend": args.backend, "head_env": head_only}
    for name, results in runs.items():
        summary[name] = {
            "rps": statistics.median(r["rps"] for r in results),
            "p99_ms": statistics.median(r["p99_ms"] for r in results),
            "rps_runs": [r["rps"] for r in results],
        }
    summary["rps_ratio"] = summary["head"]["rps"] / summary["base"]["rps"]
    summary["p99_ratio"] = summary["head"]["p99_ms"] / summary["base"]["p99_ms"]
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

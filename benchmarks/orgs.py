"""An org-scoped route against ``/users/me``, with 100 and with 100,000 organizations.

    python benchmarks/orgs.py                       # SQLite + in-process store
    python benchmarks/orgs.py --backend postgres    # PostgreSQL + Redis

Two databases side by side, one holding 100 organizations and one 100,000 (each with a
membership), one server on each; the caller (``bench1``) is an owner of organization 1 in
both. wrk rounds alternate over the four measures (``/me`` and
``/orgs/1/bench``, a route with ``kit.require_org_permission``, on each server), so a slow
spell of the machine hits them alike; figures are medians over the rounds.

Targets (issue 13): the org-scoped route at >= 0.9x the throughput of ``/me``, and its p99
with 100,000 organizations at most 1.2x its p99 with 100, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import Server, run_wrk
from benchmarks.run import database, get_token, server_env
from benchmarks.seed import Database

ME = "/api/v1/users/me"
ORG = "/api/v1/orgs/1/bench"

_ORGS_PG = """
INSERT INTO organizations (id, name, slug)
SELECT g, 'Bench org ' || g, 'bench-org-' || g
FROM generate_series(1, CAST(:total AS integer)) AS g
"""
_ORGS_SQLITE = """
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :total)
INSERT INTO organizations (id, name, slug) SELECT n, 'Bench org ' || n, 'bench-org-' || n FROM g
"""
# Organization n has user (n mod users) + 1 as its owner: bench1 owns organization 1.
_MEMBERS = """
INSERT INTO organization_memberships (organization_id, user_id, role)
SELECT id, (id - 1) % :users + 1, 'owner' FROM organizations
"""


def seed_orgs(db: Database, total: int) -> None:
    """``total`` organizations, each with an owner among the seeded users."""

    async def fill() -> None:
        engine = create_async_engine(db.url)
        async with engine.begin() as conn:
            await conn.execute(text(_ORGS_PG if db.postgres else _ORGS_SQLITE), {"total": total})
            await conn.execute(text(_MEMBERS), {"users": db.count})
            if db.postgres:
                await conn.execute(text("ANALYZE organizations"))
                await conn.execute(text("ANALYZE organization_memberships"))
                # generate_series ids: move the sequence past them.
                top = "(SELECT max(id) FROM organizations)"
                await conn.execute(text(f"SELECT setval('organizations_id_seq', {top})"))
        await engine.dispose()

    asyncio.run(fill())
    os.sync()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="sqlite")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--small", type=int, default=100, help="organizations, small database")
    parser.add_argument("--large", type=int, default=100_000, help="organizations, large one")
    args = parser.parse_args()
    admin = os.environ.get(
        "SAASKIT_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    redis_url = None
    if args.backend == "postgres":
        redis_url = os.environ.get("SAASKIT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    sizes = {"small": args.small, "large": args.large}
    runs: dict[str, list[dict[str, float]]] = {}
    with ExitStack() as stack:
        servers: dict[str, Server] = {}
        for name, total in sizes.items():
            db = stack.enter_context(database(args.backend, admin))
            db.seed(1000)
            seed_orgs(db, total)
            env = server_env(db, redis_url)
            if redis_url:  # each server its own key prefix
                env["SAASKIT_STORE__PREFIX"] = f"orgs{name}{uuid.uuid4().hex[:6]}:"
            servers[name] = stack.enter_context(Server("benchmarks.apps:saaskit_app", env))
        headers = {
            name: f"Authorization: Bearer {asyncio.run(get_token(server.url))}"
            for name, server in servers.items()
        }
        measures = [(name, path) for name in servers for path in (ME, ORG)]
        for name, path in measures:  # warm-up (and the membership into the cache)
            run_wrk(servers[name].url, headers[name], 2, args.concurrency, path)
        for _ in range(args.rounds):
            for name, path in measures:
                result = run_wrk(
                    servers[name].url, headers[name], args.duration, args.concurrency, path
                )
                if result["non_2xx"]:
                    raise SystemExit(f"{name} {path}: {result['non_2xx']:.0f} non-2xx responses")
                runs.setdefault(f"{name} {path}", []).append(result)
    summary: dict[str, Any] = {
        "backend": args.backend,
        "organizations": sizes,
        "rounds": args.rounds,
        "duration_s": args.duration,
        "concurrency": args.concurrency,
    }
    for key, results in runs.items():
        summary[key] = {
            "rps": statistics.median(r["rps"] for r in results),
            "p99_ms": statistics.median(r["p99_ms"] for r in results),
            "rps_runs": [r["rps"] for r in results],
            "p99_runs": [r["p99_ms"] for r in results],
        }
    for name in sizes:
        summary[f"{name}: org/me throughput"] = (
            summary[f"{name} {ORG}"]["rps"] / summary[f"{name} {ME}"]["rps"]
        )
    summary["org p99 large/small"] = (
        summary[f"large {ORG}"]["p99_ms"] / summary[f"small {ORG}"]["p99_ms"]
    )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

"""API keys against login sessions on ``GET /api/v1/users/me``, and with 1,000 vs 1,000,000 keys.

    python benchmarks/api_keys.py                          # PostgreSQL + Redis
    python benchmarks/api_keys.py --backend sqlite --duration 5

One server, one database seeded with 1,000 users and 1,000 API keys: wrk rounds alternate
between a session's bearer token and an API key (``X-API-Key``) on the same route, so a
slow spell of the machine hits both alike. Then the table grows to ``--large-keys`` keys
(1,000,000), the server restarts, and the same alternation runs again. The issue's bars:

- a key request at >= 90 % of the session's throughput (``key_vs_session``);
- the key's p99 with 1,000,000 keys at most 1.2x its p99 with 1,000
  (``key_p99_large_vs_small``).

The per-key and per-IP limits are off, like every limit in the /me benchmark
(``SAASKIT_RATE_LIMIT__ENABLED=false``): the per-key limit costs one more store call
(an ``INCR``) per request when on. No SQL runs on the hot path once a key is cached
(``tests/apikeys``: ``test_a_cache_hit_runs_no_sql``); a cache miss reads one row by its
unique public id. Writes ``benchmarks/results/api_keys.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks.load import Server, run_wrk
from benchmarks.run import RESULTS, SECRET, database, get_token, server_env
from benchmarks.seed import Database
from saaskit.apikeys import format as key_format

PREFIX = "sk_test_"  # the development prefix (the benchmark's environment)

_PG_KEYS = """
INSERT INTO api_keys (public_id, secret_hash, name, scopes, user_id)
SELECT lpad(CAST(g AS text), 12, '0'), md5(CAST(g AS text)) || md5(CAST(g AS text)), 'bench',
       CAST('[]' AS json), (g % :users) + 1
FROM generate_series(CAST(:start AS integer), CAST(:stop AS integer)) AS g
"""
_SQLITE_KEYS = """
WITH RECURSIVE g(n) AS (SELECT :start UNION ALL SELECT n + 1 FROM g WHERE n < :stop)
INSERT INTO api_keys (public_id, secret_hash, name, scopes, user_id)
SELECT printf('%012d', n), printf('%064d', n), 'bench', '[]', (n % :users) + 1 FROM g
"""


def seed_keys(db: Database, start: int, stop: int, users: int) -> None:
    """Add filler keys ``start..stop`` (numeric public ids: never the benchmark's key)."""

    async def fill() -> None:
        engine = create_async_engine(db.url)
        async with engine.begin() as conn:
            await conn.execute(
                text(_PG_KEYS if db.postgres else _SQLITE_KEYS),
                {"start": start, "stop": stop, "users": users},
            )
            if db.postgres:
                await conn.execute(text("ANALYZE api_keys"))
        if db.postgres:
            async with engine.connect() as conn:
                await conn.execute(text("CHECKPOINT"))
        await engine.dispose()

    asyncio.run(fill())
    os.sync()


def real_key(db: Database, user_id: int) -> str:
    """A working key of ``user_id``, inserted as the service would store it."""
    key, public_id = key_format.generate(PREFIX, user_id)
    hashed = key_format.hash_key(key_format.derive_hash_key(SECRET), key)

    async def insert() -> None:
        engine = create_async_engine(db.url)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO api_keys (public_id, secret_hash, name, scopes, user_id) "
                    "VALUES (:p, :h, 'bench', '[]', :u)"
                ),
                {"p": public_id, "h": hashed, "u": user_id},
            )
        await engine.dispose()

    asyncio.run(insert())
    return key


def median(runs: list[dict[str, float]]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    merged["p99_runs"] = [r["p99_ms"] for r in runs]
    merged["rps_runs"] = [r["rps"] for r in runs]
    return merged


def alternate(url: str, session: str, key: str, args: Any) -> dict[str, Any]:
    sessions, keys = [], []
    run_wrk(url, session, 2, args.concurrency)  # warm-up (and the key's first use)
    run_wrk(url, key, 2, args.concurrency)
    for _ in range(args.rounds):
        sessions.append(run_wrk(url, session, args.duration, args.concurrency))
        keys.append(run_wrk(url, key, args.duration, args.concurrency))
    return {"session": median(sessions), "api_key": median(keys)}


def bench(kind: str, args: Any) -> dict[str, Any]:
    admin = os.environ.get(
        "SAASKIT_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    redis_url = (
        os.environ.get("SAASKIT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
        if kind == "postgres"
        else None
    )
    out: dict[str, Any] = {"backend": "PostgreSQL + Redis" if kind == "postgres" else "SQLite"}
    with database(kind, admin) as db:
        if redis_url:
            import redis

            redis.Redis.from_url(redis_url).flushdb()
        db.seed(args.users)
        key = real_key(db, 1)  # bench1@example.com, the user the session logs in as
        seed_keys(db, 1, args.small_keys - 1, args.users)
        env = server_env(db, redis_url)
        with Server("benchmarks.apps:saaskit_app", env) as server:
            session = f"Authorization: Bearer {asyncio.run(get_token(server.url))}"
            out["small"] = alternate(server.url, session, f"X-API-Key: {key}", args)
        seed_keys(db, args.small_keys, args.large_keys - 1, args.users)
        with Server("benchmarks.apps:saaskit_app", env) as server:
            session = f"Authorization: Bearer {asyncio.run(get_token(server.url))}"
            out["large"] = alternate(server.url, session, f"X-API-Key: {key}", args)
    small, large = out["small"], out["large"]
    out["ratios"] = {
        "key_vs_session": small["api_key"]["rps"] / small["session"]["rps"],
        "key_vs_session_large": large["api_key"]["rps"] / large["session"]["rps"],
        "key_p99_large_vs_small": large["api_key"]["p99_ms"] / small["api_key"]["p99_ms"],
    }
    out["keys"] = {"small": args.small_keys, "large": args.large_keys}
    return out


def table(result: dict[str, Any]) -> str:
    lines = [
        f"### {result['backend']}",
        "",
        "| keys in the table | credential | req/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for size in ("small", "large"):
        for credential in ("session", "api_key"):
            r = result[size][credential]
            lines.append(
                f"| {result['keys'][size]:,} | {credential} | {r['rps']:,.0f} | "
                f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} |"
            )
    ratios = result["ratios"]
    lines += [
        "",
        f"- key / session throughput: {ratios['key_vs_session']:.3f} "
        f"({ratios['key_vs_session_large']:.3f} with {result['keys']['large']:,} keys)",
        f"- key p99, {result['keys']['large']:,} vs {result['keys']['small']:,} keys: "
        f"{ratios['key_p99_large_vs_small']:.3f}x",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="postgres")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--small-keys", type=int, default=1000)
    parser.add_argument("--large-keys", type=int, default=1_000_000)
    args = parser.parse_args()
    kinds = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    results = [bench(kind, args) for kind in kinds]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "api_keys.json").write_text(json.dumps(results, indent=2))
    print("\n\n".join(table(result) for result in results))


if __name__ == "__main__":
    main()

"""Load benchmark: saaskit's protected route against bare FastAPI baselines, in one run.

    python benchmarks/run.py                  # PostgreSQL + Redis and the embedded default
    python benchmarks/run.py --backend sqlite --duration 5
    python benchmarks/run.py --backend cluster  # /me on a Redis Cluster vs one Redis node

Needs ``wrk`` (``apt-get install wrk``) and, for the PostgreSQL run, the servers from
``SAASKIT_BENCH_DATABASE_URL`` (a PostgreSQL admin URL, default the local ``postgres``)
and ``SAASKIT_BENCH_REDIS_URL``. Writes ``benchmarks/results/latest.json``, a Markdown
table and a chart (if matplotlib is installed), and prints the table. See
docs/performance.md for the method.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import bcrypt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import Server, login_storm, run_wrk
from benchmarks.probe import probe
from benchmarks.seed import (
    BENCH_PASSWORD,
    Database,
    postgres_database,
    sqlite_database,
)

RESULTS = Path(__file__).resolve().parent / "results"
SECRET = "benchmark-secret-key-0123456789abcdef-0123456789"


def bcrypt_limit(cores: int) -> tuple[float, float]:
    """(seconds for one cost-12 hash, logins/s the cores could do at most)."""
    times = []
    for _ in range(5):
        start = time.perf_counter()
        bcrypt.hashpw(b"benchmark", bcrypt.gensalt(12))
        times.append(time.perf_counter() - start)
    one = statistics.median(times)
    return one, cores / one


def server_env(db: Database, redis_url: str | None) -> dict[str, str]:
    env = {
        "SAASKIT_DATABASE_URL": db.url,
        "SAASKIT_SECRET_KEY": SECRET,
        "SAASKIT_RATE_LIMIT__ENABLED": "false",
        "SAASKIT_AUTH__SEND_VERIFICATION_ON_REGISTER": "false",
        "BENCH_TARGET": "saaskit",
    }
    if redis_url:
        env["SAASKIT_REDIS_URL"] = redis_url
    return env


async def get_token(url: str) -> str:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        response = await client.post(
            "/api/v1/auth/login",
            json={"email": "bench1@example.com", "password": BENCH_PASSWORD},
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        me.raise_for_status()
        return token


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over ``runs`` (a p99 from one short run is noisy), and the p99s."""
    merged: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, int | float):
            merged[key] = statistics.median(run[key] for run in runs)
        else:
            merged[key] = value
    merged["p99_runs"] = [run["p99_ms"] for run in runs]
    return merged


def bench_backend(name: str, db: Database, redis_url: str | None, args: Any) -> dict[str, Any]:
    d, conc, rounds = args.duration, args.concurrency, args.rounds
    out: dict[str, Any] = {"backend": name}
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    db.seed(1000)
    env = server_env(db, redis_url)
    with Server("benchmarks.apps:saaskit_app", env) as server:
        token = asyncio.run(get_token(server.url))
        header = f"Authorization: Bearer {token}"
        run_wrk(server.url, header, 2, conc)  # warm-up
        # Idle and storm rounds alternate, so a slow spell of the machine hits both alike.
        idle, stormy, idle_probes, storm_probes, logins = [], [], [], [], []
        for _ in range(rounds):
            idle.append(run_wrk(server.url, header, d, conc))
            storm = login_storm(server.url, args.login_clients, d + 2, background=True)
            time.sleep(1)
            stormy.append(run_wrk(server.url, header, d, conc))
            logins.append(storm.result())
            idle_probes.append(probe(server.url, token, rate=args.probe_rate, duration=d))
            storm = login_storm(server.url, args.login_clients, d + 2, background=True)
            time.sleep(1)
            storm_probes.append(probe(server.url, token, rate=args.probe_rate, duration=d))
            logins.append(storm.result())
        out["saaskit"], out["storm"] = median_of(idle), median_of(stormy)
        out["idle_probe"], out["storm_probe"] = median_of(idle_probes), median_of(storm_probes)
        out["storm_logins"] = logins
        # The machine's speed drifts by ~10 % over a run: time bcrypt right around the
        # logins it is the limit for.
        before = bcrypt_limit(os.cpu_count() or 1)[1]
        out["logins_alone"] = login_storm(server.url, args.login_clients, d).result()
        out["bcrypt_limit_beside"] = (before + bcrypt_limit(os.cpu_count() or 1)[1]) / 2
    for app in ("bare", "jwt"):
        with Server(f"benchmarks.apps:{app}_app", env) as server:
            run_wrk(server.url, header, 2, conc)
            out[app] = run_wrk(server.url, header, d, conc)
    if args.large_users:
        db.seed(args.large_users)
        with Server("benchmarks.apps:saaskit_app", env) as server:
            token = asyncio.run(get_token(server.url))
            header = f"Authorization: Bearer {token}"
            run_wrk(server.url, header, 2, conc)
            out["saaskit_large"] = median_of(
                [run_wrk(server.url, header, d, conc) for _ in range(rounds)]
            )
            out["large_users"] = args.large_users
    return out


def ratios(r: dict[str, Any]) -> dict[str, float]:
    result = {
        "me_vs_bare": r["saaskit"]["rps"] / r["bare"]["rps"],
        "me_vs_jwt": r["saaskit"]["rps"] / r["jwt"]["rps"],
        "storm_p99_vs_idle_p99": r["storm"]["p99_ms"] / r["saaskit"]["p99_ms"],
        "probe_storm_p99_vs_idle_p99": r["storm_probe"]["p99_ms"] / r["idle_probe"]["p99_ms"],
        "logins_vs_bcrypt_limit": r["logins_alone"]["per_second"] / r["bcrypt_limit_beside"],
    }
    if "saaskit_large" in r:
        result["p99_large_vs_1k"] = r["saaskit_large"]["p99_ms"] / r["saaskit"]["p99_ms"]
    return result


@contextmanager
def database(kind: str, admin_url: str) -> Any:
    if kind == "postgres":
        with postgres_database(admin_url, f"saaskit_bench_{uuid.uuid4().hex[:8]}") as db:
            yield db
    else:
        with sqlite_database() as db:
            yield db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend",
        choices=["postgres", "sqlite", "both", "cluster"],
        default="both",
        help="cluster: /me on a Redis Cluster against a single Redis (benchmarks/cluster.py)",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument(
        "--rounds", type=int, default=3, help="repeats of the latency measures (medians)"
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--login-clients", type=int, default=8)
    parser.add_argument("--probe-rate", type=float, default=200, help="/me requests per second")
    parser.add_argument("--large-users", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.backend == "cluster":
        from benchmarks.cluster import main as cluster_main

        options = ["--duration", str(args.duration), "--rounds", str(args.rounds)]
        cluster_main([*options, "--concurrency", str(args.concurrency)])
        return
    admin = os.environ.get(
        "SAASKIT_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    redis = os.environ.get("SAASKIT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    cores = os.cpu_count() or 1
    hash_seconds, limit = bcrypt_limit(cores)
    report: dict[str, Any] = {
        "machine": {"cores": cores, "python": sys.version.split()[0], "platform": sys.platform},
        "bcrypt": {"cost": 12, "hash_ms": hash_seconds * 1000, "logins_per_second_limit": limit},
        "runs": [],
    }
    kinds = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    for kind in kinds:
        with database(kind, admin) as db:
            label = "PostgreSQL + Redis" if kind == "postgres" else "SQLite + in-process"
            result = bench_backend(label, db, redis if kind == "postgres" else None, args)
        result["ratios"] = ratios(result)
        report["runs"].append(result)
    from benchmarks.report import write_report

    print(write_report(report, RESULTS))


if __name__ == "__main__":
    main()

"""``/me`` on a Redis Cluster against a single Redis node, in one run.

    python benchmarks/cluster.py --duration 10 --rounds 3
    python benchmarks/run.py --backend cluster     # the same

Starts the test harness's cluster (3 masters + 3 replicas on loopback ports,
tests/topology/redis_cluster.py), a PostgreSQL database with 1000 users (as run.py), and
serves the kit with uvicorn (one worker) twice per round: on the single Redis of
``SAASKIT_BENCH_REDIS_URL`` and on the cluster (``SAASKIT_STORE__CLUSTER=true``), in
alternating order so a slow spell of the machine hits both alike. For the cluster it
also counts what the nodes received during the measurement (``INFO commandstats``): the
commands per ``/me`` and how many nodes got any. Needs ``wrk``, ``redis-server`` and
``redis-cli``. Writes ``benchmarks/results/cluster.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.topology.redis_cluster import RedisCluster, commands_since, scratch_cluster_folder

from benchmarks.load import Server, run_wrk
from benchmarks.run import RESULTS, get_token, server_env
from benchmarks.seed import Database, postgres_database


def measure(
    db: Database, env: dict[str, str], args: Any, cluster: RedisCluster | None
) -> dict[str, Any]:
    """One wrk run of ``/me`` (after a warm-up); with ``cluster``, what its nodes received."""
    with Server("benchmarks.apps:saaskit_app", env) as server:
        token = asyncio.run(get_token(server.url))
        header = f"Authorization: Bearer {token}"
        run_wrk(server.url, header, 2, args.concurrency)  # warm-up
        before = cluster.commands() if cluster else {}
        result: dict[str, Any] = dict(run_wrk(server.url, header, args.duration, args.concurrency))
        if cluster:
            received = commands_since(before, cluster.commands())
            requests = result["rps"] * args.duration
            total = sum(sum(counts.values()) for counts in received.values())
            result["nodes_reached"] = len(received)
            result["commands"] = received
            result["commands_per_me"] = total / requests if requests else 0.0
    return result


def median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def bench(args: Any) -> dict[str, Any]:
    admin = os.environ.get(
        "SAASKIT_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    single_url = os.environ.get("SAASKIT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    folder = scratch_cluster_folder()
    cluster = RedisCluster(folder)
    runs: dict[str, list[dict[str, Any]]] = {"single": [], "cluster": []}
    try:
        cluster.start()
        with postgres_database(admin, f"saaskit_bench_{uuid.uuid4().hex[:8]}") as db:
            db.seed(1000)
            for round_ in range(args.rounds):
                order = ["single", "cluster"] if round_ % 2 == 0 else ["cluster", "single"]
                for kind in order:
                    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
                    env = server_env(db, single_url if kind == "single" else cluster.url)
                    env["SAASKIT_STORE__PREFIX"] = prefix
                    if kind == "cluster":
                        env["SAASKIT_STORE__CLUSTER"] = "true"
                    runs[kind].append(
                        measure(db, env, args, cluster if kind == "cluster" else None)
                    )
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
    summary = {
        kind: {key: median(found, key) for key in ("rps", "p50_ms", "p99_ms")}
        for kind, found in runs.items()
    }
    return {
        "machine": {"cores": os.cpu_count(), "load_average": os.getloadavg()},
        "settings": {"duration": args.duration, "concurrency": args.concurrency},
        "runs": runs,
        "median": summary,
        "ratios": {
            "rps_cluster_vs_single": summary["cluster"]["rps"] / summary["single"]["rps"],
            "p99_cluster_vs_single": summary["cluster"]["p99_ms"] / summary["single"]["p99_ms"],
        },
    }


def table(report: dict[str, Any]) -> str:
    median_, ratios = report["median"], report["ratios"]
    cluster_runs = report["runs"]["cluster"]
    lines = [
        "| Store | /me req/s | p50 ms | p99 ms | commands per /me | nodes reached |",
        "|---|---|---|---|---|---|",
        f"| single Redis | {median_['single']['rps']:.0f} | {median_['single']['p50_ms']:.2f} "
        f"| {median_['single']['p99_ms']:.2f} | | 1 |",
        f"| Redis Cluster (3 masters + 3 replicas) | {median_['cluster']['rps']:.0f} "
        f"| {median_['cluster']['p50_ms']:.2f} | {median_['cluster']['p99_ms']:.2f} "
        f"| {median(cluster_runs, 'commands_per_me'):.3f} "
        f"| {max(run['nodes_reached'] for run in cluster_runs)} |",
        "",
        f"Cluster vs single: {ratios['rps_cluster_vs_single']:.2f}x throughput, "
        f"{ratios['p99_cluster_vs_single']:.2f}x p99 (load average during the run: "
        f"{', '.join(f'{x:.1f}' for x in report['machine']['load_average'])}).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per store (medians)")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    report = bench(args)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cluster.json").write_text(json.dumps(report, indent=2))
    print(table(report))


if __name__ == "__main__":
    main()

"""What the day row costs each AI call: settling with and without ``ai_daily_usage``.

    python benchmarks/ai_metering.py                        # SQLite (a temporary file)
    python benchmarks/ai_metering.py --backend postgres     # a temporary PostgreSQL database

Each AI call's metering is a reservation (a store counter) and a commit (one transaction
upserting the monthly ``ai_usage`` row and, since the daily table, the ``ai_daily_usage``
row). Two meters on the same database, kit and in-process store run the same calls: the
baseline without the day row, the other with it, alternating per round so that drift on a
shared machine hits both. ``--concurrency`` calls run at once, for ``--users`` owners (so
several calls of one owner and day contend for the same rows, as in production).

Prints one JSON object: calls per second of each meter per round, and the median ratio
(with the day row / without); the provider call itself (hundreds of milliseconds) is not
part of it, so the ratio overstates what a user sees.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.seed import Database, postgres_database, sqlite_database
from saaskit import SaaSKit, SaaSKitSettings
from saaskit.ai.metering import UsageMeter
from saaskit.store import MemoryStore

MODEL = "gpt-bench"


async def run_calls(meter: UsageMeter, calls: int, concurrency: int, users: int) -> float:
    """Calls per second of ``calls`` reserve-and-commit cycles, ``concurrency`` at once."""
    queue = iter(range(calls))

    async def worker() -> None:
        for n in queue:
            reservation = await meter.reserve(n % users + 1, 200, quota=None)
            await meter.commit(reservation, MODEL, 40, 60)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return calls / (time.perf_counter() - started)


async def measure(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    settings = SaaSKitSettings(
        database_url=db.url,
        secret_key="benchmark-secret-key-that-is-long-enough-0123456789",  # noqa: S106 - a benchmark
    )
    kit: SaaSKit[Any] = SaaSKit(settings, store=MemoryStore())
    try:
        usage, daily = kit.models.ai_usage, kit.models.tables["ai_daily_usage"]
        meters = {
            "month_only": UsageMeter(usage, kit.session_factory, MemoryStore()),
            "month_and_day": UsageMeter(usage, kit.session_factory, MemoryStore(), daily=daily),
        }
        for meter in meters.values():  # warm-up: connections, first rows of the month
            await run_calls(meter, min(200, args.calls), args.concurrency, args.users)
        rounds: list[dict[str, float]] = []
        for number in range(args.rounds):
            order = list(meters) if number % 2 == 0 else list(reversed(meters))
            figures = {}
            for name in order:
                figures[name] = await run_calls(
                    meters[name], args.calls, args.concurrency, args.users
                )
            rounds.append({name: round(value, 1) for name, value in figures.items()})
        ratios = [r["month_and_day"] / r["month_only"] for r in rounds]
        return {
            "backend": "postgres" if db.postgres else "sqlite",
            "calls_per_round": args.calls,
            "concurrency": args.concurrency,
            "owners": args.users,
            "rounds": rounds,
            "ratio_median": round(statistics.median(ratios), 3),
        }
    finally:
        await kit.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="sqlite")
    parser.add_argument("--calls", type=int, default=2000, help="calls per meter and round")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=50, help="distinct owners")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    admin = os.environ.get(
        "SAASKIT_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    with ExitStack() as stack:
        if args.backend == "postgres":
            db = stack.enter_context(postgres_database(admin, f"bench_ai_{os.getpid()}"))
        else:
            db = stack.enter_context(sqlite_database())
        db.seed(args.users)
        print(json.dumps(asyncio.run(measure(db, args)), indent=2))


if __name__ == "__main__":
    main()

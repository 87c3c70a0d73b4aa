"""Login timing oracle check: does the time of a failed login reveal whether the account exists?

It builds a kit with the production password hashing (bcrypt cost 12 unless ``--rounds``
says otherwise) on a temporary SQLite database migrated with the packaged migrations,
creates one active and one inactive user, then sends ``--attempts`` failed logins of each
kind through the ASGI app (interleaved, after a warm-up): an unknown email, a wrong
password for the active user, and the right password of the inactive user. It prints the
median of each kind and its ratio to the wrong-password median, as a table and as JSON;
ratios near 1.00 mean the three cases cannot be told apart by timing. Run it from the
repository root with ``.venv/bin/python benchmarks/login_oracle.py`` (options:
``--attempts 30 --rounds 12``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.migrations import packaged_config, upgrade

PASSWORD = "correct horse battery staple"
ACTIVE = "active@example.com"
INACTIVE = "inactive@example.com"
CASES: dict[str, dict[str, str]] = {
    "unknown email": {"email": "nobody@example.com", "password": PASSWORD},
    "wrong password": {"email": ACTIVE, "password": "not the right password"},
    "inactive user": {"email": INACTIVE, "password": PASSWORD},
}
BASELINE = "wrong password"


async def measure(database: Path, attempts: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per failed login, by case (``database`` is already migrated)."""
    url = f"sqlite+aiosqlite:///{database}"
    settings = SaaSKitSettings(
        database_url=url,
        redis_url=None,
        secret_key=secrets.token_urlsafe(48),
        auth={"bcrypt_rounds": rounds},
        rate_limit={"enabled": False},
    )
    kit = SaaSKit(settings)
    try:
        await kit.users.create(ACTIVE, PASSWORD)
        inactive = await kit.users.create(INACTIVE, PASSWORD)
        await kit.users.update(inactive.id, {"is_active": False})
        app = FastAPI()
        kit.install(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            bodies: set[str] = set()

            async def attempt(credentials: dict[str, str]) -> float:
                started = time.perf_counter()
                response = await client.post("/api/v1/auth/login", json=credentials)
                elapsed = time.perf_counter() - started
                if response.status_code != 401:
                    raise RuntimeError(f"expected 401, got {response.status_code}")
                bodies.add(response.text)
                return elapsed

            for credentials in CASES.values():  # warm-up: thread pool, connections
                await attempt(credentials)
            timings: dict[str, list[float]] = {name: [] for name in CASES}
            names = list(CASES)
            for i in range(attempts):
                rotated = names[i % len(names) :] + names[: i % len(names)]
                for name in rotated:
                    timings[name].append(await attempt(CASES[name]))
            if len(bodies) != 1:
                raise RuntimeError(f"the failure bodies differ: {bodies}")
        return timings
    finally:
        await kit.aclose()


def summarize(timings: dict[str, list[float]], rounds: int) -> dict[str, Any]:
    medians = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    base = medians[BASELINE]
    return {
        "bcrypt_rounds": rounds,
        "attempts": len(timings[BASELINE]),
        "median_ms": {name: round(value, 2) for name, value in medians.items()},
        "ratio_to_wrong_password": {
            name: round(value / base, 3) for name, value in medians.items()
        },
    }


def table(summary: dict[str, Any]) -> str:
    lines = [f"{'case':<16} {'median ms':>10} {'ratio':>7}", "-" * 35]
    for name, median in summary["median_ms"].items():
        ratio = summary["ratio_to_wrong_password"][name]
        lines.append(f"{name:<16} {median:>10.1f} {ratio:>7.3f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=30, help="logins per case")
    parser.add_argument("--rounds", type=int, default=12, help="bcrypt cost factor")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "oracle.db"
        upgrade(packaged_config(f"sqlite+aiosqlite:///{database}"))  # runs its own event loop
        timings = asyncio.run(measure(database, args.attempts, args.rounds))
    summary = summarize(timings, args.rounds)
    print(table(summary))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

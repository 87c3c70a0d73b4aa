"""How long the ``saaskit`` command takes to answer, started as a new process each time.

``saaskit --version`` (target: at most 0.3 s) answers before the commands, and so FastAPI,
SQLAlchemy and Alembic, are imported; ``saaskit --help`` imports them all, for comparison.

Usage: ``python benchmarks/cli_startup.py [--runs 10]`` (uses the ``saaskit`` next to this
Python, e.g. ``.venv/bin/saaskit``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 0.3


def measure(command: list[str], runs: int) -> list[float]:
    """Wall-clock seconds of each of ``runs`` runs of ``command`` (after one warm-up run)."""
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - warm the cache
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - our own command
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    saaskit = str(Path(sys.executable).with_name("saaskit"))
    for args in (["--version"], ["--help"]):
        times = measure([saaskit, *args], runs)
        median = statistics.median(times)
        verdict = ""
        if args == ["--version"]:
            verdict = "  (ok)" if median <= TARGET_SECONDS else f"  (over {TARGET_SECONDS} s)"
        print(
            f"saaskit {' '.join(args):10} median {median * 1000:7.1f} ms, "
            f"max {max(times) * 1000:7.1f} ms over {runs} runs{verdict}"
        )


if __name__ == "__main__":
    main()

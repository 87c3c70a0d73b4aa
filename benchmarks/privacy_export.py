"""Peak memory of building a data export for a user with 100,000 audit events.

    python benchmarks/privacy_export.py                    # SQLite (a temporary file)
    python benchmarks/privacy_export.py --events 200000    # another trail length

One user, ``--events`` audit events (inserted in bulk), then the export task builds the
archive while :mod:`tracemalloc` follows the Python heap; the process's peak RSS is
printed too. For contrast, the same trail read the way a list-returning exporter reads it
(``AuditExporter.export``, every event in memory at once) is measured afterwards.

Prints one JSON object: events, archive bytes, build seconds, peak traced heap (MiB) of
the streamed build and of the in-memory read, and the process's peak RSS (MiB) once
the trail was seeded and the export built (before the in-memory read). ``build_seconds``
is slowed several times by tracemalloc itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.audit.wiring import AuditExporter
from saaskit.email.memory import MemorySender
from saaskit.migrations import packaged_config, upgrade
from saaskit.privacy import PrivacyFeature, PrivacySettings
from saaskit.privacy.export import BuildExport

BATCH = 10_000


async def measure(folder: Path, events: int) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    await asyncio.to_thread(upgrade, packaged_config(url))
    settings = SaaSKitSettings(
        database_url=url,
        secret_key="benchmark-secret-key-that-is-long-enough-0123456789",  # noqa: S106 - a benchmark
        auth={"bcrypt_rounds": 4},
    )
    kit: SaaSKit[Any] = SaaSKit(
        settings,
        email_sender=MemorySender(),
        features=[PrivacyFeature(PrivacySettings(enabled=True, storage_dir=folder / "exports"))],
    )
    try:
        user = await kit.users.create("bench@example.com", "a-long-password-0123")
        table = kit.models.audit_event.__table__  # type: ignore[attr-defined]
        row = {
            "action": "login",
            "outcome": "success",
            "actor_id": user.id,
            "target_id": user.id,
            "ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) benchmark",
            "detail": {"session": "s" * 22},
        }
        async with kit.engine.begin() as connection:
            for start in range(0, events, BATCH):
                count = min(BATCH, events - start)
                await connection.execute(insert(table), [row] * count)
        privacy: Any = kit.feature(PrivacyFeature)
        export = await privacy.exports._insert(user.id)

        tracemalloc.start()
        started = time.perf_counter()
        await privacy.exports.build(BuildExport(export.id))
        seconds = time.perf_counter() - started
        _, streamed_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_after_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        done = await privacy.exports.get(user.id, export.public_id)
        assert done.status == "ready", done.status

        tracemalloc.start()
        everything = await AuditExporter(kit.audit).export(user.id)
        _, list_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(everything) == events
        del everything
        await kit.runner.drain()
    finally:
        await kit.aclose()
    return {
        "events": events,
        "archive_bytes": done.size_bytes,
        "build_seconds": round(seconds, 2),
        "streamed_build_peak_mib": round(streamed_peak / 2**20, 1),
        "in_memory_read_peak_mib": round(list_peak / 2**20, 1),
        "peak_rss_mib_after_seed_and_build": round(rss_after_build / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="saaskit-bench-export-") as folder:
        result = asyncio.run(measure(Path(folder), args.events))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

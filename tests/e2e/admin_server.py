"""The admin console's browser test server: ``examples/admin/app.py`` plus seeded data.

Run by ``tests/e2e/test_admin_browser.py`` in a subprocess: the kit is configured by the
``SAASKIT_*`` variables the test sets (a migrated SQLite database, billing on a fake
Stripe); a superuser, a user with some AI usage and a failed webhook event are added
before serving.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from examples.admin.app import app, kit

from saaskit.types import ClientInfo

ADMIN = ("root@example.com", "correct horse battery")
USER = "bob@example.com"


async def seed() -> None:
    """A superuser, a user who logged in and used AI today, and a failed webhook event."""
    await kit.users.create(*ADMIN, is_superuser=True)
    bob = await kit.users.create(USER, ADMIN[1], full_name="Bob")
    await kit.ai.record_usage(bob.id, "gpt-4o-mini", 120, 80)
    await kit.auth.login(USER, ADMIN[1], client=ClientInfo(ip="203.0.113.7"))
    event: Any = kit.models.webhook_event
    payload = {"id": "evt_failed_1", "type": "customer.updated", "data": {"object": {}}}
    async with kit.session_factory() as db:
        db.add(
            event(
                stripe_event_id="evt_failed_1",
                type="customer.updated",
                status="failed",
                attempts=1,
                last_error="ServiceUnavailable: Stripe is unavailable",
                payload=payload,
                event_created_at=datetime.now(UTC),
            )
        )
        await db.commit()
    await kit.engine.dispose()  # its connections belong to this loop, not uvicorn's


def main() -> None:
    """Seed, then serve on ``--port``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(seed())
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

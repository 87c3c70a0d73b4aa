"""``saaskit billing flush-meters``: sends the metered AI usage waiting in the outbox."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from saaskit import SaaSKit
from saaskit.cli import app
from saaskit.models import User
from saaskit.owners import Owner
from saaskit.testing.fake_stripe import FakeStripe
from tests.helpers import PASSWORD, TEST_REDIS_URL, new_store
from tests.helpers import make_settings as settings_for


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("SAASKIT_") and not name.startswith("SAASKIT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _kit(database_url: str, fake: FakeStripe) -> SaaSKit[User]:
    settings = settings_for(
        database_url,
        billing=fake.billing_settings(create_customer_on_register=False),
        ai={"meter_event_name": "ai_credits"},
    )
    return SaaSKit(settings, store=new_store())


async def _record(database_url: str, fake: FakeStripe) -> str:
    kit = _kit(database_url, fake)
    kit.ai.meter.on_metered = None
    user = await kit.users.create("alice@example.com", PASSWORD)
    customer_id = await kit.billing.customers.ensure(Owner.user(user.id))
    await kit.ai.record_usage(user.id, "gpt-4o-mini", 30, 12)
    await kit.aclose()
    return customer_id


async def _make_due(database_url: str, fake: FakeStripe) -> None:
    # The backoff has passed (instead of waiting for it).
    kit = _kit(database_url, fake)
    table = kit.models.tables["ai_meter_outbox"]
    async with kit.session_factory() as db:
        past = datetime.now(UTC) - timedelta(seconds=1)
        await db.execute(update(table).values(next_attempt_at=past))
        await db.commit()
    await kit.aclose()


def test_flush_meters(database_url: str, fake_stripe: FakeStripe) -> None:
    customer_id = asyncio.run(_record(database_url, fake_stripe))
    env = {
        "SAASKIT_DATABASE_URL": database_url,
        "SAASKIT_AUTH__BCRYPT_ROUNDS": "4",
        "SAASKIT_BILLING__ENABLED": "true",
        "SAASKIT_BILLING__SECRET_KEY": fake_stripe.api_key,
        "SAASKIT_BILLING__API_BASE": fake_stripe.url,
        "SAASKIT_BILLING__MAX_NETWORK_RETRIES": "0",
        "SAASKIT_AI__METER_EVENT_NAME": "ai_credits",
    }
    if TEST_REDIS_URL:
        env["SAASKIT_REDIS_URL"] = TEST_REDIS_URL

    fake_stripe.fail_next(500, path="/v1/billing/meter_events")
    down = CliRunner().invoke(app, ["billing", "flush-meters"], env=env)
    assert down.exit_code == 1, down.output
    assert "1 deferred" in down.output
    assert "1 pending." in down.output
    assert fake_stripe.meter_events() == []

    asyncio.run(_make_due(database_url, fake_stripe))
    up = CliRunner().invoke(app, ["billing", "flush-meters", "--limit", "10"], env=env)
    assert up.exit_code == 0, up.output
    assert up.output.startswith("Sent 1 meter events")
    assert fake_stripe.metered(customer_id, "ai_credits") == 42

    again = CliRunner().invoke(app, ["billing", "flush-meters"], env=env)
    assert again.output.strip() == (
        "Sent 0 meter events (0 already sent); 0 deferred, 0 failed, 0 skipped; 0 pending."
    )


def test_flush_meters_needs_metering(database_url: str) -> None:
    result = CliRunner().invoke(
        app, ["billing", "flush-meters"], env={"SAASKIT_DATABASE_URL": database_url}
    )
    assert result.exit_code == 1
    assert "AI usage is not metered" in result.output

"""``saaskit billing replay-failed``."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from saaskit import SaaSKit
from saaskit.cli import app
from saaskit.models import WebhookEvent
from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import PLANS, Billing, add_prices, billing_settings, gated_app
from tests.helpers import TEST_REDIS_URL, client_for, new_store
from tests.helpers import make_settings as settings_for


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("SAASKIT_") and not name.startswith("SAASKIT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


async def _fail_some_events(database_url: str, fake: FakeStripe) -> None:
    kit = SaaSKit(settings_for(database_url, billing=billing_settings(fake)), store=new_store())
    async with client_for(kit, gated_app(kit)) as client:
        billing = Billing(kit, client, fake)
        headers = await billing.signup()
        fake.complete_checkout(await billing.checkout(headers))
        fake.fail_next(503, path="/v1/subscriptions/", times=100)
        await fake.deliver(client)
    await kit.aclose()


async def _statuses(database_url: str) -> set[str]:
    kit = SaaSKit(settings_for(database_url), store=new_store())
    async with kit.session_factory() as db:
        statuses = set(await db.scalars(select(WebhookEvent.status)))
    await kit.aclose()
    return statuses


def test_replay_failed(database_url: str, fake_stripe: FakeStripe) -> None:
    add_prices(fake_stripe)
    asyncio.run(_fail_some_events(database_url, fake_stripe))
    assert "failed" in asyncio.run(_statuses(database_url))
    env = {
        "SAASKIT_DATABASE_URL": database_url,
        "SAASKIT_AUTH__BCRYPT_ROUNDS": "4",
        "SAASKIT_BILLING__ENABLED": "true",
        "SAASKIT_BILLING__SECRET_KEY": fake_stripe.api_key,
        "SAASKIT_BILLING__WEBHOOK_SECRET": fake_stripe.webhook_secret,
        "SAASKIT_BILLING__API_BASE": fake_stripe.url,
        "SAASKIT_BILLING__MAX_NETWORK_RETRIES": "0",
        "SAASKIT_BILLING__PLANS": json.dumps(PLANS),
    }
    if TEST_REDIS_URL:
        env["SAASKIT_REDIS_URL"] = TEST_REDIS_URL

    still_down = CliRunner().invoke(app, ["billing", "replay-failed"], env=env)
    assert still_down.exit_code == 1, still_down.output
    assert "0 processed" in still_down.output

    fake_stripe.clear_failures()
    result = CliRunner().invoke(app, ["billing", "replay-failed", "--limit", "50"], env=env)
    assert result.exit_code == 0, result.output
    assert ", 0 failed." in result.output
    assert asyncio.run(_statuses(database_url)) == {"processed"}

    again = CliRunner().invoke(app, ["billing", "replay-failed"], env=env)
    assert again.output.strip() == "Replayed 0 events: 0 processed, 0 failed."


def test_replay_failed_needs_billing(database_url: str) -> None:
    result = CliRunner().invoke(
        app, ["billing", "replay-failed"], env={"SAASKIT_DATABASE_URL": database_url}
    )
    assert result.exit_code == 1
    assert "billing is not enabled" in result.output

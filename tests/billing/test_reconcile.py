"""``saaskit billing reconcile``: events no webhook delivered are applied from Stripe's list."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from saaskit import SaaSKit
from saaskit.cli import app
from saaskit.models import WebhookEvent
from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import PLANS, Billing, add_prices, billing_settings, gated_app
from tests.helpers import TEST_REDIS_URL, client_for, new_store
from tests.helpers import make_settings as settings_for


async def test_dropped_webhooks_converge_and_a_second_run_does_nothing(billing: Billing) -> None:
    headers = await billing.signup()
    subscription = billing.fake.complete_checkout(await billing.checkout(headers, "pro"))
    dropped = billing.fake.take_events()  # the endpoint was down: nothing delivered
    assert (await billing.status(headers))["plan"] == "free"

    first = await billing.kit.billing.reconcile()
    assert first.processed >= 1
    assert first.failed == 0
    status = await billing.status(headers)
    assert (status["plan"], status["subscription"]["id"]) == ("pro", subscription["id"])

    second = await billing.kit.billing.reconcile()
    assert (second.processed, second.failed) == (0, 0)
    assert second.known == first.processed + first.known

    # The late webhooks are duplicates of what reconcile stored: answered, not re-applied.
    responses = await billing.fake.deliver(billing.client, events=dropped)
    handled = [r.json() for r in responses if r.json()["type"] != "customer.created"]
    assert {r["status"] for r in handled} == {"duplicate"}
    ids = {row.stripe_event_id for row in await billing.rows(WebhookEvent)}
    assert len(ids) == len(await billing.rows(WebhookEvent))


async def test_reconcile_starts_an_hour_before_the_newest_event_stored(billing: Billing) -> None:
    headers = await billing.signup()
    await billing.subscribe(headers, "pro")  # delivered: stored
    newest = await billing.kit.billing.webhooks.last_seen()
    assert newest is not None

    result = await billing.kit.billing.reconcile()
    assert result.since == newest - timedelta(hours=1)
    (call,) = billing.fake.calls("GET", "/v1/events")
    assert call.params["created"] == {"gt": str(int(result.since.timestamp()))}
    assert "invoice.paid" in call.params["types"]
    assert (result.processed, result.failed) == (0, 0)


async def test_a_stripe_outage_during_reconcile_changes_nothing(billing: Billing) -> None:
    headers = await billing.signup()
    billing.fake.complete_checkout(await billing.checkout(headers, "pro"))
    billing.fake.take_events()
    billing.fake.fail_next(503, path="/v1/events")
    with pytest.raises(Exception, match="unavailable"):
        await billing.kit.billing.reconcile(datetime.now(UTC) - timedelta(days=1))
    assert await billing.rows(WebhookEvent) == []


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("SAASKIT_") and not name.startswith("SAASKIT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


async def _pay_without_webhooks(database_url: str, fake: FakeStripe) -> None:
    kit = SaaSKit(settings_for(database_url, billing=billing_settings(fake)), store=new_store())
    async with client_for(kit, gated_app(kit)) as client:
        billing = Billing(kit, client, fake)
        headers = await billing.signup()
        fake.complete_checkout(await billing.checkout(headers))
        fake.take_events()
    await kit.aclose()


@pytest.mark.usefixtures("clean_environment")
def test_the_command(database_url: str, fake_stripe: FakeStripe) -> None:
    add_prices(fake_stripe)
    asyncio.run(_pay_without_webhooks(database_url, fake_stripe))
    env = {
        "SAASKIT_DATABASE_URL": database_url,
        "SAASKIT_BILLING__ENABLED": "true",
        "SAASKIT_BILLING__SECRET_KEY": fake_stripe.api_key,
        "SAASKIT_BILLING__WEBHOOK_SECRET": fake_stripe.webhook_secret,
        "SAASKIT_BILLING__API_BASE": fake_stripe.url,
        "SAASKIT_BILLING__MAX_NETWORK_RETRIES": "0",
        "SAASKIT_BILLING__PLANS": json.dumps(PLANS),
    }
    if TEST_REDIS_URL:
        env["SAASKIT_REDIS_URL"] = TEST_REDIS_URL

    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    first = CliRunner().invoke(app, ["billing", "reconcile", "--since", since], env=env)
    assert first.exit_code == 0, first.output
    assert ", 0 already done, 0 failed." in first.output
    assert " 0 applied" not in first.output

    again = CliRunner().invoke(app, ["billing", "reconcile"], env=env)
    assert again.exit_code == 0, again.output
    assert " 0 applied," in again.output
    assert ", 0 failed." in again.output

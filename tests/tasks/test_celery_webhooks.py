"""Stripe webhook processing in a real Celery worker: queued by the app, processed by the
worker against the fake Stripe, retried while Stripe fails, recorded in the database."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from saaskit import SaaSKit
from saaskit.billing.models import WebhookEventMixin
from saaskit.models import WebhookEvent
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from tests.billing.helpers import add_prices, billing_settings
from tests.helpers import TEST_REDIS_URL, bearer, login, register
from tests.ports import free_port
from tests.tasks.celery_support import running_worker, wait_until, write_host_app

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not TEST_REDIS_URL,
        reason="the Celery end-to-end tests need Redis: set SAASKIT_TEST_REDIS_URL "
        "(e.g. redis://127.0.0.1:6379/0)",
    ),
]


async def events(kit: SaaSKit[Any]) -> list[WebhookEventMixin]:
    async with kit.session_factory() as db:
        return list(await db.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


async def test_webhook_events_are_processed_by_the_worker_through_a_stripe_outage(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
) -> None:
    assert TEST_REDIS_URL
    add_prices(fake_stripe)
    app = write_host_app(
        tmp_path,
        database_url=database_url,
        redis_url=TEST_REDIS_URL,
        smtp_port=free_port(),
        verify_on_register=False,
        billing=billing_settings(fake_stripe, webhook_processing="background"),
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(app.module)
    kit: SaaSKit[Any] = module.kit
    transport = httpx.ASGITransport(app=module.app, raise_app_exceptions=False)
    try:
        with running_worker(tmp_path, app, "--pool", "solo") as worker:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                assert (await register(client)).status_code == 201
                headers = bearer((await login(client))["access_token"])
                response = await client.post(
                    "/api/v1/billing/create-checkout-session", json={"plan": "pro"}, headers=headers
                )
                assert response.status_code == 200, response.text
                fake_stripe.complete_checkout(response.json()["id"])
                # Stripe answers the worker's first reads with errors, then recovers.
                fake_stripe.fail_next(500, times=3)

                delivered = await fake_stripe.deliver(client, "/api/v1/billing/webhook")
                assert {r.json()["status"] for r in delivered} == {"queued"}

                async def all_processed() -> list[WebhookEventMixin] | None:
                    rows = await events(kit)
                    return rows if all(r.status == "processed" for r in rows) else None

                rows = await wait_until(all_processed, what="processed events", worker=worker)
                subscription = await client.get("/api/v1/billing/subscription", headers=headers)
                assert subscription.json()["plan"] == "pro"
    finally:
        await kit.aclose()
        sys.modules.pop(app.module, None)

    assert len(rows) == len(delivered)
    assert max(row.attempts for row in rows) >= 2  # a failed attempt was recorded, then retried
    assert all(row.last_error is None for row in rows)
    assert "task billing.process_event failed" in worker.output()

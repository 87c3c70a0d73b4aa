"""The billing parts: invoices exported from Stripe (retried while it is down), and an
erasure that meets Stripe down resumes at the billing step."""

from __future__ import annotations

from pathlib import Path

from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import Billing, add_prices, billing_settings
from tests.privacy.helpers import (
    PRIVACY,
    Clock,
    HookLog,
    client_for_kit,
    delete_account,
    link_param,
    make_world_kit,
    read_zip,
    signed_up,
)


async def test_invoices_are_exported_and_a_stripe_outage_is_retried(
    database_url: str, tmp_path: Path, fake_stripe: FakeStripe
) -> None:
    add_prices(fake_stripe)
    kit, sender = make_world_kit(
        database_url, tmp_path, Clock(), HookLog(), billing=billing_settings(fake_stripe)
    )
    try:
        async with client_for_kit(kit) as client:
            billing = Billing(kit, client, fake_stripe)
            alice = await signed_up(client, "alice@example.com")
            subscription = await billing.subscribe(alice)
            fake_stripe.fail_next(500, method="GET", path="/v1/invoices", times=2)
            assert (await client.post(f"{PRIVACY}/exports", headers=alice)).status_code == 202
            await kit.runner.drain()
            export_id = link_param(sender, "alice@example.com", "export")
            archive = await client.get(f"{PRIVACY}/exports/{export_id}/download", headers=alice)
            files = read_zip(archive.content)
            (invoice,) = files["invoices.json"]
            assert invoice["status"] == "paid"
            (local,) = files["subscriptions.json"]
            assert local["stripe_subscription_id"] == subscription
            assert len(fake_stripe.calls("GET", "/v1/invoices")) == 3  # two failures, then ok
    finally:
        await kit.aclose()


async def test_stripe_down_during_erasure_resumes_at_the_billing_step(
    database_url: str, tmp_path: Path, fake_stripe: FakeStripe
) -> None:
    add_prices(fake_stripe)
    clock = Clock()
    kit, _ = make_world_kit(
        database_url, tmp_path, clock, HookLog(), billing=billing_settings(fake_stripe)
    )
    try:
        async with client_for_kit(kit) as client:
            billing = Billing(kit, client, fake_stripe)
            alice = await signed_up(client, "alice@example.com")
            await billing.subscribe(alice)
            assert (await delete_account(client, alice)).status_code == 202
            await kit.runner.drain()
            clock.advance(days=30)
            fake_stripe.fail_next(503, times=50)
            privacy = kit.feature("privacy")
            down = await privacy.sweep()
            assert down.failed_deletions == [1]
            (row,) = await privacy.deletions.page(status="erasing")
            assert row.steps == []
            assert row.last_error == "billing: BillingUnavailable"
            assert await kit.users.get_by_email("alice@example.com") is not None
            fake_stripe.clear_failures()
            up = await privacy.sweep()
            assert up.erased_users == [1]
            assert [s["status"] for s in fake_stripe.objects("subscriptions")] == ["canceled"]
            assert [bool(c.get("deleted")) for c in fake_stripe.objects("customers")] == [True]
    finally:
        await kit.aclose()


async def test_a_long_stripe_outage_fails_the_export_without_using_up_the_day(
    database_url: str, tmp_path: Path, fake_stripe: FakeStripe
) -> None:
    add_prices(fake_stripe)
    kit, sender = make_world_kit(
        database_url, tmp_path, Clock(), HookLog(), billing=billing_settings(fake_stripe)
    )
    try:
        async with client_for_kit(kit) as client:
            billing = Billing(kit, client, fake_stripe)
            alice = await signed_up(client, "alice@example.com")
            await billing.subscribe(alice)
            fake_stripe.fail_next(500, method="GET", path="/v1/invoices", times=1000)
            requested = await client.post(f"{PRIVACY}/exports", headers=alice)
            export_id = requested.json()["id"]
            await kit.runner.drain()  # the runner's 4 attempts
            status = await client.get(f"{PRIVACY}/exports/{export_id}", headers=alice)
            assert status.json()["status"] == "pending"
            await kit.feature("privacy").sweep()  # queued again: the 5th and last build
            await kit.runner.drain()
            status = await client.get(f"{PRIVACY}/exports/{export_id}", headers=alice)
            assert status.json()["status"] == "failed"
            assert not [m for m in sender.outbox if "data export" in m.subject]
            fake_stripe.clear_failures()
            again = await client.post(f"{PRIVACY}/exports", headers=alice)
            assert again.status_code == 202  # a failed export does not count
            await kit.runner.drain()
            assert link_param(sender, "alice@example.com", "export") == again.json()["id"]
    finally:
        await kit.aclose()

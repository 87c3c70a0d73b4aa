"""The fake Stripe outside pytest: test clocks, the checkout page, webhook forwarding, the CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from saaskit.billing.http import build_http_client
from saaskit.cli.fake_stripe import FakePrice, start_fake_stripe
from saaskit.testing._stripe_clocks import RETRY_DAYS
from saaskit.testing._stripe_forward import WebhookForwarder
from saaskit.testing.fake_stripe import FakeStripe
from tests.cli.helpers import saaskit_command, subprocess_env
from tests.ports import free_port

DAY = 86400
T0 = 1_800_000_000


@pytest.fixture
async def sdk(fake_stripe: FakeStripe) -> AsyncIterator[stripe.StripeClient]:
    http = build_http_client(5.0)
    yield stripe.StripeClient(
        fake_stripe.api_key,
        base_addresses={"api": fake_stripe.url},
        http_client=http,
        max_network_retries=0,
    )
    await http.close_async()  # type: ignore[no-untyped-call]


@dataclass
class Receiver:
    """A webhook endpoint: records what arrives; answers ``statuses`` in turn, then 200."""

    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def types(self) -> list[str]:
        return [str(b["type"]) for b in self.bodies]


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            if status == 200:
                receiver.bodies.append(json.loads(body))
                receiver.signatures.append(self.headers["Stripe-Signature"])
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/billing/webhook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


async def _clock_subscription(
    fake: FakeStripe, sdk: stripe.StripeClient, *, failing: bool = False
) -> tuple[str, str, str]:
    price = fake.add_price("pro_monthly", unit_amount=2000)
    clock = await sdk.v1.test_helpers.test_clocks.create_async({"frozen_time": T0})
    params: dict[str, Any] = {"email": "clock@example.com", "test_clock": clock.id}
    if failing:
        params["payment_method"] = "pm_card_chargeCustomerFail"
    customer = await sdk.v1.customers.create_async(params)  # type: ignore[arg-type]
    session = await sdk.v1.checkout.sessions.create_async(
        {
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": price, "quantity": 1}],
            "success_url": "https://app.example.com/ok",
        }
    )
    sub = fake.complete_checkout(session.id)
    fake.take_events()
    return clock.id, customer.id, str(sub["id"])


async def test_a_test_clock_advances_a_subscription_through_renewals(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient
) -> None:
    clock_id, customer_id, sub_id = await _clock_subscription(fake_stripe, sdk)
    sub = await sdk.v1.subscriptions.retrieve_async(sub_id)
    item = sub["items"].data[0]
    assert (item.current_period_start, sub.test_clock) == (T0, clock_id)
    end = item.current_period_end

    advanced = await sdk.v1.test_helpers.test_clocks.advance_async(
        clock_id, {"frozen_time": end + (end - T0) + 60}
    )
    assert (advanced.frozen_time, advanced.status) == (end + (end - T0) + 60, "ready")
    types = [e["type"] for e in fake_stripe.take_events()]
    assert types.count("invoice.paid") == 2  # two periods ended: two renewals
    assert types[-1] == "test_helpers.test_clock.ready"
    renewed = (await sdk.v1.subscriptions.retrieve_async(sub_id))["items"].data[0]
    assert renewed.current_period_start == end + (end - T0)
    invoices = await sdk.v1.invoices.list_async({"customer": customer_id})
    assert [i.created for i in invoices.data] == [end + (end - T0), end, T0]

    with pytest.raises(stripe.InvalidRequestError):  # a clock never goes back
        await sdk.v1.test_helpers.test_clocks.advance_async(clock_id, {"frozen_time": T0})


async def test_a_test_clock_runs_dunning_until_the_subscription_is_canceled(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient
) -> None:
    # --8<-- [start:dunning]
    # a customer on a test clock whose card fails, subscribed at T0 (see _clock_subscription)
    clock_id, _customer_id, sub_id = await _clock_subscription(fake_stripe, sdk, failing=True)
    end = (await sdk.v1.subscriptions.retrieve_async(sub_id))["items"].data[0].current_period_end

    # the period ends: the renewal fails, the subscription is past due
    await sdk.v1.test_helpers.test_clocks.advance_async(clock_id, {"frozen_time": end + 60})
    events = fake_stripe.take_events()
    assert [e["type"] for e in events][:2] == [
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    invoice = events[0]["data"]["object"]
    assert invoice["status"] == "open"
    assert invoice["next_payment_attempt"] == end + RETRY_DAYS[0] * DAY
    assert (await sdk.v1.subscriptions.retrieve_async(sub_id)).status == "past_due"

    # every retry fails; after the last one the subscription is canceled
    await sdk.v1.test_helpers.test_clocks.advance_async(
        clock_id, {"frozen_time": end + sum(RETRY_DAYS) * DAY + 60}
    )
    types = [e["type"] for e in fake_stripe.take_events()]
    assert types.count("invoice.payment_failed") == len(RETRY_DAYS)
    assert "customer.subscription.deleted" in types
    assert (await sdk.v1.subscriptions.retrieve_async(sub_id)).status == "canceled"
    # --8<-- [end:dunning]


async def test_a_retry_that_succeeds_ends_dunning(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient
) -> None:
    clock_id, customer_id, sub_id = await _clock_subscription(fake_stripe, sdk, failing=True)
    end = (await sdk.v1.subscriptions.retrieve_async(sub_id))["items"].data[0].current_period_end
    await sdk.v1.test_helpers.test_clocks.advance_async(clock_id, {"frozen_time": end + 60})
    await sdk.v1.customers.update_async(
        customer_id, {"invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )
    fake_stripe.take_events()
    await sdk.v1.test_helpers.test_clocks.advance_async(
        clock_id, {"frozen_time": end + RETRY_DAYS[0] * DAY + 60}
    )
    types = [e["type"] for e in fake_stripe.take_events()]
    assert types[:2] == ["invoice.paid", "customer.subscription.updated"]
    assert (await sdk.v1.subscriptions.retrieve_async(sub_id)).status == "active"


async def test_cancel_at_period_end_ends_the_subscription_when_the_clock_passes_it(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient
) -> None:
    clock_id, _, sub_id = await _clock_subscription(fake_stripe, sdk)
    await sdk.v1.subscriptions.update_async(sub_id, {"cancel_at_period_end": True})
    end = (await sdk.v1.subscriptions.retrieve_async(sub_id))["items"].data[0].current_period_end
    await sdk.v1.test_helpers.test_clocks.advance_async(clock_id, {"frozen_time": end + 1})
    assert (await sdk.v1.subscriptions.retrieve_async(sub_id)).status == "canceled"


async def _open_session(fake: FakeStripe, sdk: stripe.StripeClient) -> str:
    price = fake.add_price("pro_monthly", unit_amount=2000, product="Pro <b>")
    customer = await sdk.v1.customers.create_async({"email": "pay@example.com"})
    session = await sdk.v1.checkout.sessions.create_async(
        {
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": price, "quantity": 1}],
            "success_url": "http://127.0.0.1:9/billing/success?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://127.0.0.1:9/billing",
        }
    )
    assert session.url
    return session.url


async def test_the_checkout_page_is_paid_once_and_forwards_the_webhooks(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient
) -> None:
    url = await _open_session(fake_stripe, sdk)
    session_id = url.rsplit("/", 1)[1]
    fake_stripe.take_events()
    with receiving() as receiver:
        fake_stripe.forward_webhooks(receiver.url, log=False)
        async with httpx.AsyncClient() as browser:
            page = await browser.get(url)
            assert page.status_code == 200
            assert 'id="pay"' in page.text
            assert "Pro &lt;b&gt;" in page.text  # escaped, never markup
            assert "20.00 USD / month" in page.text
            assert 'href="http://127.0.0.1:9/billing"' in page.text
            assert "'none'" in page.headers["Content-Security-Policy"]

            paid = await browser.post(url)
            assert paid.status_code == 303
            assert paid.headers["Location"] == (
                f"http://127.0.0.1:9/billing/success?session_id={session_id}"
            )
            # delivered before the redirect: the app knows when the browser lands
            assert receiver.types() == [
                "customer.subscription.created",
                "invoice.paid",
                "checkout.session.completed",
            ]
            for body, signature in zip(receiver.bodies, receiver.signatures, strict=True):
                stripe.Webhook.construct_event(
                    json.dumps(body), signature, fake_stripe.webhook_secret
                )

            again = await browser.post(url)  # another tab, a replayed form
            assert again.status_code == 409
            assert "cannot be paid again" in again.text
            assert 'id="pay"' not in (await browser.get(url)).text
    assert len(fake_stripe.objects("subscriptions")) == 1
    assert len(receiver.bodies) == 3


async def test_concurrent_payments_of_one_session_make_one_subscription(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient
) -> None:
    url = await _open_session(fake_stripe, sdk)
    results: list[int] = []

    def pay() -> None:
        results.append(httpx.post(url).status_code)

    threads = [threading.Thread(target=pay) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [303] + [409] * 5
    assert len(fake_stripe.objects("subscriptions")) == 1


async def test_unknown_pages_and_sessions_are_404(fake_stripe: FakeStripe) -> None:
    async with httpx.AsyncClient(base_url=fake_stripe.url) as browser:
        assert (await browser.get("/c/pay/cs_test_nope")).status_code == 404
        assert (await browser.post("/c/pay/cs_test_nope")).status_code == 404
        assert (await browser.get("/i/in_nope")).status_code == 404
    assert fake_stripe.objects("subscriptions") == []


async def test_webhooks_the_app_refuses_are_sent_again_in_order(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient
) -> None:
    with receiving() as receiver:
        receiver.statuses = [500]
        # not started: this test delivers by hand, no background thread
        fake_stripe.forwarder = WebhookForwarder(fake_stripe, receiver.url, log=False)
        fake_stripe.take_events()
        await sdk.v1.customers.create_async({"email": "one@example.com"})
        await sdk.v1.customers.create_async({"email": "two@example.com"})
        assert fake_stripe.flush_webhooks() is False
        assert receiver.bodies == []
        assert fake_stripe.flush_webhooks() is True
        emails = [b["data"]["object"]["email"] for b in receiver.bodies]
        assert emails == ["one@example.com", "two@example.com"]
        assert fake_stripe.flush_webhooks() is True  # nothing twice
        assert len(receiver.bodies) == 2


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: it only picks a route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def test_the_fake_listens_on_loopback_only() -> None:
    port = free_port()
    with FakeStripe(port=port) as fake:
        assert fake.url == f"http://127.0.0.1:{port}"
        assert fake._server is not None
        assert fake._server.server_address[0] == "127.0.0.1"
        other = _non_loopback_address()
        if other is not None:
            with (
                pytest.raises((ConnectionRefusedError, TimeoutError)),
                socket.create_connection((other, port), timeout=2),
            ):
                pass


def test_price_specs_are_parsed_and_checked() -> None:
    assert FakePrice.parse("pro_yearly:20000:year:EUR") == FakePrice(
        "pro_yearly", 20000, "year", "eur", "Pro"
    )
    assert FakePrice.parse("setup:500:once").interval is None
    for bad in ("pro", "pro:x", "pro:1:fortnight", ":1"):
        with pytest.raises(ValueError, match=r"expected|interval"):
            FakePrice.parse(bad)


@pytest.mark.slow
def test_the_command_serves_prints_the_settings_and_stops(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*saaskit_command(), "fake-stripe", "--port", str(port), "--price", "basic:900:month"],
        cwd=tmp_path,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Prices"):
                break
        env = dict(
            line.strip().split("=", 1) for line in lines if line.startswith("SAASKIT_BILLING__")
        )
        assert env["SAASKIT_BILLING__API_BASE"] == f"http://127.0.0.1:{port}"
        assert env["SAASKIT_BILLING__WEBHOOK_SECRET"].startswith("whsec_")
        client = stripe.StripeClient(
            env["SAASKIT_BILLING__SECRET_KEY"],
            base_addresses={"api": env["SAASKIT_BILLING__API_BASE"]},
            max_network_retries=0,
        )
        prices = client.v1.prices.list({"lookup_keys": ["basic"]})
        assert [p.unit_amount for p in prices.data] == [900]
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output
    assert "Fake Stripe stopped." in output


def test_the_command_refuses_bad_options(tmp_path: Path) -> None:
    for args, message in (
        (["--price", "nope"], "expected"),
        (["--forward-to", "ftp://x"], "not an http(s) URL"),
        (["--webhook-secret", "sk_live_x"], "whsec_"),
    ):
        result = subprocess.run(
            [*saaskit_command(), "fake-stripe", "--port", str(free_port()), *args],
            cwd=tmp_path,
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode != 0
        assert message in result.stderr + result.stdout


def test_the_command_line_fake_adopts_customers_of_an_earlier_run() -> None:
    """An app's database keeps the customer ids a fake gave out before it restarted."""
    with start_fake_stripe(port=free_port(), log=False) as fake:
        client = stripe.StripeClient(
            fake.api_key, base_addresses={"api": fake.url}, max_network_retries=0
        )
        session = client.v1.checkout.sessions.create(
            {
                "mode": "subscription",
                "customer": "cus_fromanearlierrun",
                "line_items": [{"price": "price_pro_monthly", "quantity": 1}],
                "success_url": "http://127.0.0.1:9/ok",
            }
        )
        assert session.customer == "cus_fromanearlierrun"
        assert client.v1.customers.retrieve("cus_fromanearlierrun").id == "cus_fromanearlierrun"
    with FakeStripe() as strict:  # the test fixture's fake stays faithful: 404
        client = stripe.StripeClient(
            strict.api_key, base_addresses={"api": strict.url}, max_network_retries=0
        )
        with pytest.raises(stripe.InvalidRequestError, match="No such customer"):
            client.v1.customers.retrieve("cus_fromanearlierrun")

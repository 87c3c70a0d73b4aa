"""The fake Stripe itself, driven by the real SDK over HTTP."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import stripe

from saaskit.billing.http import build_http_client
from saaskit.testing._stripe_http import parse_form
from saaskit.testing.fake_stripe import FakeStripe
from tests.helpers import GUARD_SECONDS


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


def test_parse_form() -> None:
    assert parse_form(
        "metadata[user_id]=7&line_items[0][price]=price_1&line_items[0][quantity]=2"
        "&expand[0]=data.product&expand[]=customer&email=a%40b.c&flag=true"
    ) == {
        "metadata": {"user_id": "7"},
        "line_items": [{"price": "price_1", "quantity": "2"}],
        "expand": ["data.product", "customer"],
        "email": "a@b.c",
        "flag": "true",
    }


def test_url_lifecycle_and_context_manager() -> None:
    fake = FakeStripe()
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.url
    with fake:
        assert fake.url.startswith("http://127.0.0.1:")
        assert fake.start() is fake  # idempotent
    fake.stop()  # stopping twice is harmless


async def test_idempotency_key_replays_the_same_answer(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient
) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "key-1"}
    first = await sdk.v1.customers.create_async({"email": "a@example.com"}, options)
    again = await sdk.v1.customers.create_async({"email": "a@example.com"}, options)
    assert first.id == again.id
    assert len(fake_stripe.customers()) == 1
    assert again.last_response is not None
    assert again.last_response.headers["idempotent-replayed"] == "true"
    with pytest.raises(stripe.IdempotencyError):
        await sdk.v1.customers.create_async({"email": "b@example.com"}, options)


async def test_error_envelope(sdk: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sdk.v1.customers.retrieve_async("cus_missing")
    error = caught.value
    assert error.http_status == 404
    assert error.code == "resource_missing"
    assert error.param == "id"
    assert "No such customer: 'cus_missing'" in str(error.user_message)
    assert error.request_id is not None
    assert error.request_id.startswith("req_")


async def test_wrong_key_is_401(fake_stripe: FakeStripe) -> None:
    http = build_http_client(5.0)
    client = stripe.StripeClient(
        "sk_test_wrong", base_addresses={"api": fake_stripe.url}, http_client=http
    )
    with pytest.raises(stripe.AuthenticationError):
        await client.v1.customers.list_async()
    await http.close_async()  # type: ignore[no-untyped-call]


async def test_injected_failures(fake_stripe: FakeStripe, sdk: stripe.StripeClient) -> None:
    fake_stripe.fail_next(503, path="/v1/customers", times=2)
    for _ in range(2):
        with pytest.raises(stripe.APIError) as caught:
            await sdk.v1.customers.list_async()
        assert caught.value.http_status == 503
    await sdk.v1.customers.list_async()
    fake_stripe.fail_next(disconnect=True)
    with pytest.raises(stripe.APIConnectionError):
        await sdk.v1.customers.list_async()
    fake_stripe.fail_next(429, type="rate_limit_error", code="rate_limit", method="POST")
    await sdk.v1.customers.list_async()  # a GET does not match
    with pytest.raises(stripe.RateLimitError):
        await sdk.v1.customers.create_async({"email": "a@example.com"})


async def test_prices_by_lookup_key_with_expanded_product(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient
) -> None:
    pro = fake_stripe.add_price("pro_monthly", unit_amount=2000, product="Pro")
    fake_stripe.add_price("team_monthly")
    page = await sdk.v1.prices.list_async(
        {"lookup_keys": ["pro_monthly"], "expand": ["data.product"]}
    )
    (price,) = page.data
    assert price.id == pro
    assert price.unit_amount == 2000
    assert price.product.name == "Pro"  # type: ignore[union-attr]
    plain = await sdk.v1.prices.retrieve_async(pro)
    assert isinstance(plain.product, str)


async def test_checkout_completion_creates_a_subscription_and_events(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient
) -> None:
    price = fake_stripe.add_price("pro_monthly", unit_amount=2000)
    customer = await sdk.v1.customers.create_async({"email": "a@example.com"})
    session = await sdk.v1.checkout.sessions.create_async(
        {
            "mode": "subscription",
            "customer": customer.id,
            "client_reference_id": "7",
            "line_items": [{"price": price, "quantity": 2}],
            "success_url": "https://app.example.com/ok",
            "subscription_data": {"metadata": {"user_id": "7"}},
        }
    )
    assert session.url
    assert session.url.startswith(fake_stripe.url)
    fake_stripe.take_events()
    subscription = fake_stripe.complete_checkout(session.id)
    events = fake_stripe.take_events()
    assert [e["type"] for e in events] == [
        "customer.subscription.created",
        "invoice.paid",
        "checkout.session.completed",
    ]
    assert all(e["id"].startswith("evt_") and e["object"] == "event" for e in events)
    completed = events[-1]["data"]["object"]
    assert completed["subscription"] == subscription["id"]
    assert "_line_items" not in completed
    fetched = await sdk.v1.subscriptions.retrieve_async(subscription["id"])
    assert fetched.status == "active"
    assert fetched.metadata["user_id"] == "7"
    item = fetched["items"].data[0]
    assert (item.quantity, item.price.id) == (2, price)
    assert (await sdk.v1.checkout.sessions.retrieve_async(session.id)).status == "complete"
    listed = await sdk.v1.subscriptions.list_async({"customer": customer.id})
    assert [s.id for s in listed.data] == [subscription["id"]]
    events_api = await sdk.v1.events.list_async({"type": "invoice.paid"})
    assert len(events_api.data) == 1


async def test_bad_requests(fake_stripe: FakeStripe, sdk: stripe.StripeClient) -> None:
    customer = await sdk.v1.customers.create_async({"email": "a@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sdk.v1.checkout.sessions.create_async(
            {
                "mode": "subscription",
                "customer": customer.id,
                "line_items": [{"price": "price_nope", "quantity": 1}],
                "success_url": "https://app.example.com/ok",
            }
        )
    assert caught.value.param == "line_items[0][price]"
    with pytest.raises(stripe.InvalidRequestError):
        await sdk.v1.billing_portal.sessions.create_async({"customer": "cus_nope"})
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        await sdk.v1.tax_rates.list_async()  # an API the fake does not serve
    assert unknown.value.http_status == 404


async def test_subscription_lifecycle_controls(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient
) -> None:
    price = fake_stripe.add_price("pro_monthly")
    other = fake_stripe.add_price("team_monthly")
    customer = await sdk.v1.customers.create_async({"email": "a@example.com"})
    session = await sdk.v1.checkout.sessions.create_async(
        {
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": price}],
            "success_url": "https://app.example.com/ok",
            "subscription_data": {"trial_period_days": 7},
        }
    )
    sub = fake_stripe.complete_checkout(session.id)
    assert sub["status"] == "trialing"
    fake_stripe.trial_will_end(sub["id"])
    fake_stripe.change_subscription(sub["id"], price="team_monthly", quantity=4)
    updated = await sdk.v1.subscriptions.update_async(sub["id"], {"cancel_at_period_end": True})
    assert updated.cancel_at_period_end is True
    assert updated["items"].data[0].price.id == other
    invoice = fake_stripe.fail_payment(sub["id"])
    assert (await sdk.v1.invoices.retrieve_async(invoice["id"])).status == "open"
    fake_stripe.renew(sub["id"])
    canceled = await sdk.v1.subscriptions.cancel_async(sub["id"])
    assert canceled.status == "canceled"
    assert (await sdk.v1.subscriptions.list_async({"customer": customer.id})).data == []
    everything = await sdk.v1.subscriptions.list_async({"customer": customer.id, "status": "all"})
    assert len(everything.data) == 1
    deleted = await sdk.v1.customers.delete_async(customer.id)
    assert deleted.deleted is True
    assert (await sdk.v1.customers.retrieve_async(customer.id)).to_dict()["deleted"] is True
    types = [e["type"] for e in fake_stripe.take_events()]
    assert types[-1] == "customer.deleted"
    assert "customer.subscription.trial_will_end" in types
    assert "invoice.payment_failed" in types


def test_signatures_verify_with_the_sdk(fake_stripe: FakeStripe) -> None:
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "ping", "data": {"object": {}}})
    header = fake_stripe.sign(payload)
    event = stripe.Webhook.construct_event(payload, header, fake_stripe.webhook_secret)
    assert event.id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_other")
    stale = fake_stripe.sign(payload, timestamp=int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, stale, fake_stripe.webhook_secret, tolerance=300)


async def test_deliver_duplicates_and_shuffles(fake_stripe: FakeStripe) -> None:
    seen: list[tuple[str, str]] = []

    async def receiver(request: httpx.Request) -> httpx.Response:
        body = request.content
        stripe.WebhookSignature.verify_header(
            body.decode(), request.headers["stripe-signature"], fake_stripe.webhook_secret, 300
        )
        seen.append((request.url.path, json.loads(body)["id"]))
        return httpx.Response(200)

    events = [{"id": f"evt_{n}", "object": "event"} for n in range(6)]
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(receiver), base_url="http://app"
    ) as client:
        await fake_stripe.deliver(
            client, "/hook", events=events, duplicate=True, shuffle=True, seed=3
        )
    ids = [event_id for _, event_id in seen]
    assert sorted(ids) == sorted([e["id"] for e in events] * 2)
    assert ids != [e["id"] for e in events] * 2
    assert {path for path, _ in seen} == {"/hook"}


def test_a_body_cut_off_by_a_dying_client_creates_nothing(fake_stripe: FakeStripe) -> None:
    # A process killed mid-request (tests/e2e/test_faults_crash.py) leaves half a body on the
    # wire; Stripe acts on no request that did not arrive whole, and neither does the fake.
    address = urlsplit(fake_stripe.url)
    body = b"email=cut%40example.com&metadata[user_id]=7"
    head = (
        f"POST /v1/customers HTTP/1.1\r\nHost: {address.hostname}\r\n"
        f"Authorization: Bearer {fake_stripe.api_key}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((address.hostname, address.port)) as raw:
        raw.sendall(head + body[:20])  # "email=cut%40example."
        raw.shutdown(socket.SHUT_WR)
        assert raw.recv(1024) == b""  # closed without an answer
    assert fake_stripe.customers() == []


async def test_held_calls_wait_until_released(
    sdk: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    fake_stripe.hold()
    creating = asyncio.ensure_future(sdk.v1.customers.create_async({"email": "a@example.com"}))
    deadline = time.monotonic() + GUARD_SECONDS  # a guard against a hang, not a speed check
    while not fake_stripe.held:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    assert not creating.done()
    assert fake_stripe.customers() == []  # a held call has not reached the fake's state
    fake_stripe.release()
    customer = await creating
    assert [c["id"] for c in fake_stripe.customers()] == [customer.id]
    # Released: later calls are answered at once.
    await sdk.v1.customers.retrieve_async(customer.id)
    assert fake_stripe.held == 1


async def test_lists_page_with_starting_after_so_auto_paging_ends(sdk: stripe.StripeClient) -> None:
    for index in range(7):
        await sdk.v1.customers.create_async({"email": f"c{index}@example.com"})
    page = await sdk.v1.customers.list_async({"limit": 3})
    assert page.has_more is True
    emails = [str(c.email) async for c in page.auto_paging_iter()]  # ends: starting_after works
    assert sorted(emails) == [f"c{index}@example.com" for index in range(7)]
    everything = [c.id for c in (await sdk.v1.customers.list_async({"limit": 100})).data]
    rest = await sdk.v1.customers.list_async({"limit": 100, "starting_after": page.data[-1].id})
    assert [c.id for c in rest.data] == everything[3:]
    with pytest.raises(stripe.InvalidRequestError):
        await sdk.v1.customers.list_async({"starting_after": "cus_nothere"})


async def test_unknown_parameters_are_refused_like_stripe(sdk: stripe.StripeClient) -> None:
    typo: Any = {"email": "a@example.com", "emial": "typo"}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sdk.v1.customers.create_async(typo)
    assert caught.value.code == "parameter_unknown"
    assert caught.value.param == "emial"


async def test_subscription_checkout_needs_a_recurring_price(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient
) -> None:
    one_time = fake_stripe.add_price("setup_fee", interval=None)
    monthly = fake_stripe.add_price("monthly")
    base = {"mode": "subscription", "success_url": "https://app.example.com/ok"}
    only_one_time: Any = {**base, "line_items": [{"price": one_time, "quantity": 1}]}
    with pytest.raises(stripe.InvalidRequestError, match="at least one recurring price"):
        await sdk.v1.checkout.sessions.create_async(only_one_time)
    both: Any = {
        **base,
        "line_items": [{"price": monthly, "quantity": 1}, {"price": one_time, "quantity": 1}],
    }
    assert (await sdk.v1.checkout.sessions.create_async(both)).status == "open"
    codes_and_discounts: Any = {
        **base,
        "line_items": [{"price": monthly, "quantity": 1}],
        "allow_promotion_codes": True,
        "discounts": [{"coupon": "SUMMER"}],
    }
    with pytest.raises(stripe.InvalidRequestError, match="allow_promotion_codes, discounts"):
        await sdk.v1.checkout.sessions.create_async(codes_and_discounts)


async def test_a_request_refused_by_validation_is_not_saved_under_its_key(
    fake_stripe: FakeStripe, sdk: stripe.StripeClient
) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "create-once"}
    bogus: Any = {"email": "a@example.com", "bogus": "1"}
    with pytest.raises(stripe.InvalidRequestError):
        await sdk.v1.customers.create_async(bogus, options)
    # The corrected request with the same key runs (Stripe saved nothing), then replays.
    first = await sdk.v1.customers.create_async({"email": "a@example.com"}, options)
    again = await sdk.v1.customers.create_async({"email": "a@example.com"}, options)
    assert first.id == again.id
    assert len(fake_stripe.objects("customers")) == 1


async def test_stop_drops_pooled_keep_alive_connections() -> None:
    fake = FakeStripe().start()
    http = build_http_client(5.0)
    client = stripe.StripeClient(
        fake.api_key, base_addresses={"api": fake.url}, http_client=http, max_network_retries=0
    )
    try:
        await client.v1.customers.create_async({"email": "a@example.com"})  # pooled now
        fake.stop()
        with pytest.raises(stripe.APIConnectionError):
            await client.v1.customers.create_async({"email": "b@example.com"})
        assert len(fake.objects("customers")) == 1
    finally:
        fake.stop()
        await http.close_async()  # type: ignore[no-untyped-call]

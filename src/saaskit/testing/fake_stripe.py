"""A stateful fake Stripe API on 127.0.0.1, for saaskit's tests and the host's.

The real ``stripe`` SDK talks to it over HTTP (nothing is mocked): customers, products,
prices, Checkout sessions, billing-portal sessions, subscriptions, invoices and events,
Stripe-shaped errors and idempotency-key replay; quantity changes are prorated as
``proration_behavior`` asks and limited like Stripe's (``quantity_updates_per_hour``).
A test drives what a customer would do in Stripe's pages (complete a checkout, cancel,
fail a payment) with control methods, then delivers the resulting events signed with
Stripe's real ``t=...,v1=...`` scheme.

Example:
    ```python
    from saaskit.testing.fake_stripe import FakeStripe

    with FakeStripe() as stripe_fake:
        stripe_fake.add_price("pro_monthly", unit_amount=2000)
        settings = SaaSKitSettings(billing=stripe_fake.billing_settings(
            plans={"pro": {"price": "pro_monthly"}}
        ))
        ...  # the user checks out: POST /api/v1/billing/create-checkout-session
        stripe_fake.complete_checkout(session_id)
        await stripe_fake.deliver(client)  # POSTs the events to the webhook endpoint
    ```
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
import random
import secrets
import socket
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from saaskit.settings import STRIPE_API_VERSION
from saaskit.testing._server import FakeHTTPServer
from saaskit.testing._stripe_clocks import ClockedState
from saaskit.testing._stripe_forward import WebhookForwarder
from saaskit.testing._stripe_http import ApiFront, Failure, RecordedRequest, StripeRequestHandler
from saaskit.testing._stripe_objects import StripeFailure
from saaskit.testing.holding import Holding

if TYPE_CHECKING:
    import httpx

DEFAULT_WEBHOOK_PATH = "/api/v1/billing/webhook"


class _Server(FakeHTTPServer):
    fake: FakeStripe

    def server_activate(self) -> None:
        super().server_activate()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self.connections_lock:
            self.connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """End every open connection, idle keep-alive ones included, as a dead server would."""
        with self.connections_lock:
            open_now = list(self.connections)
        for connection in open_now:
            with contextlib.suppress(OSError):  # already gone
                connection.shutdown(socket.SHUT_RDWR)


class FakeStripe(Holding):
    """A fake Stripe server; ``start()``/``stop()`` or use it as a context manager.

    Args:
        api_key: the secret key clients must send (``Authorization: Bearer``).
        webhook_secret: signs delivered events (``whsec_...``).
        api_version: reported in events and the ``Stripe-Version`` header.
        port: the port to listen on, on 127.0.0.1 only (0: a free one).
    """

    def __init__(
        self,
        *,
        api_key: str = "sk_test_saaskit_fake",
        webhook_secret: str | None = None,
        api_version: str = STRIPE_API_VERSION,
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.port = port
        self.forwarder: WebhookForwarder | None = None
        self.webhook_secret = webhook_secret or f"whsec_{secrets.token_hex(16)}"
        self.api_version = api_version
        self.state = ClockedState(api_version)
        self.front = ApiFront(self.state, api_key)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._init_holding()

    # ---- lifecycle -----------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the fake Stripe server is not running; call start()")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeStripe:
        """Listen on 127.0.0.1 (never another interface) in a background thread.

        On ``port``, or a free port when it is 0.
        """
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(("127.0.0.1", self.port), StripeRequestHandler)
        server.fake = self
        self._server = server
        self.state.base_url = self.url
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (open keep-alive connections are dropped)."""
        server, self._server = self._server, None
        if server is None:
            return
        forwarder, self.forwarder = self.forwarder, None
        if forwarder is not None:
            forwarder.stop()
        self._stopping.set()  # held calls give up, and no handler answers any more
        server.shutdown()
        server.server_close()
        # A pooled keep-alive connection would otherwise still be answered by its handler
        # thread: the client would see no outage until the connection idled out.
        server.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def billing_settings(self, **overrides: Any) -> dict[str, Any]:
        """A ``billing`` settings section pointing at this fake (no retries: fast tests)."""
        return {
            "enabled": True,
            "secret_key": self.api_key,
            "webhook_secret": self.webhook_secret,
            "api_base": self.url,
            "max_network_retries": 0,
            "timeout_seconds": 5.0,
            **overrides,
        }

    # ---- setup and inspection ------------------------------------------------------
    def add_price(
        self,
        lookup_key: str | None = None,
        *,
        unit_amount: int = 1000,
        currency: str = "usd",
        interval: str | None = "month",
        product: str = "Product",
        price_id: str | None = None,
    ) -> str:
        """Create a price (and its product); returns the price id.

        Recurring every ``interval``; ``interval=None`` makes a one-time price.
        """
        with self.state.lock:
            price = self.state.create_price(
                {
                    "id": price_id,
                    "lookup_key": lookup_key,
                    "unit_amount": unit_amount,
                    "currency": currency,
                    "recurring": {"interval": interval} if interval else None,
                    "product_data": {"name": product},
                }
            )
            return str(price["id"])

    def objects(self, collection: str) -> list[dict[str, Any]]:
        """Copies of every object of a collection (``customers``, ``subscriptions``, ...)."""
        with self.state.lock:
            return copy.deepcopy(list(self.state.collections[collection].values()))

    def invoice_items(self, subscription_id: str) -> list[dict[str, Any]]:
        """The subscription's invoice items (prorations of price and quantity changes).

        Each has ``amount``, ``proration`` and ``invoice`` (``None`` while pending; an
        invoice id with ``proration_behavior=always_invoice``).
        """
        return [i for i in self.objects("invoiceitems") if i["subscription"] == subscription_id]

    @property
    def quantity_updates_per_hour(self) -> int:
        """Quantity changes one subscription accepts per rolling hour (Stripe: about 200).

        More are answered 429 ``rate_limit``. Set it lower to test a limit.
        """
        return self.state.quantity_updates_per_hour

    @quantity_updates_per_hour.setter
    def quantity_updates_per_hour(self, value: int) -> None:
        self.state.quantity_updates_per_hour = value

    def customers(self) -> list[dict[str, Any]]:
        """The customers that exist (deleted ones left out)."""
        return [c for c in self.objects("customers") if not c.get("deleted")]

    def meter_events(self, event_name: str | None = None) -> list[dict[str, Any]]:
        """The billing meter events accepted so far, in order (of ``event_name`` only).

        Each is Stripe's ``billing.meter_event``: ``event_name``, ``identifier``,
        ``timestamp`` and ``payload`` (``stripe_customer_id`` and ``value``, as strings).
        """
        with self.state.lock:
            events = copy.deepcopy(list(self.state.meter_events.values()))
        return [e for e in events if event_name is None or e["event_name"] == event_name]

    def metered(self, customer_id: str, event_name: str | None = None) -> float:
        """The sum of the accepted meter events' values for ``customer_id``."""
        return sum(
            float(e["payload"]["value"])
            for e in self.meter_events(event_name)
            if e["payload"].get("stripe_customer_id") == customer_id
        )

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every API call received so far, in order."""
        with self.state.lock:
            return list(self.front.requests)

    def calls(self, method: str, path: str) -> list[RecordedRequest]:
        """The recorded requests to ``method path``."""
        return [r for r in self.requests if r.method == method and r.path == path]

    def fail_next(
        self,
        status: int = 500,
        *,
        type: str = "api_error",
        code: str | None = None,
        message: str = "An unknown error occurred.",
        method: str | None = None,
        path: str | None = None,
        times: int = 1,
        disconnect: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``times`` matching calls fail with a Stripe error envelope.

        With ``disconnect``, by closing the connection without an answer; after ``delay``
        seconds (a slow Stripe, for client timeouts).
        """
        body = StripeFailure(status, message, type=type, code=code).body()
        with self.state.lock:
            self.front.failures.append(
                Failure(status, body, method, path, times, disconnect, delay=delay)
            )

    def clear_failures(self) -> None:
        """Forget the failures :meth:`fail_next` queued that have not happened yet."""
        with self.state.lock:
            self.front.failures.clear()

    # ---- lifecycle control ---------------------------------------------------------
    def complete_checkout(self, session_id: str) -> dict[str, Any]:
        """The customer pays: the session completes and its subscription starts."""
        with self.state.lock:
            return copy.deepcopy(self.state.complete_checkout(session_id))

    def change_subscription(self, subscription_id: str, **changes: Any) -> dict[str, Any]:
        """Change a subscription as if in the Stripe dashboard.

        Any of ``price`` (id or lookup key), ``quantity``, ``status``,
        ``cancel_at_period_end`` or ``metadata``.
        """
        with self.state.lock:
            return copy.deepcopy(self.state.change_subscription(subscription_id, **changes))

    def cancel_subscription(self, subscription_id: str) -> dict[str, Any]:
        """Cancel a subscription now (``customer.subscription.deleted``)."""
        with self.state.lock:
            return copy.deepcopy(self.state.cancel_subscription(subscription_id))

    def renew(self, subscription_id: str) -> dict[str, Any]:
        """Start the subscription's next period, paid (``invoice.paid``)."""
        with self.state.lock:
            return copy.deepcopy(self.state.renew(subscription_id))

    def fail_payment(self, subscription_id: str) -> dict[str, Any]:
        """Fail the next invoice payment (``invoice.payment_failed``; ``past_due``)."""
        with self.state.lock:
            return copy.deepcopy(self.state.fail_payment(subscription_id))

    def trial_will_end(self, subscription_id: str) -> dict[str, Any]:
        """Send ``customer.subscription.trial_will_end`` for a trialing subscription."""
        with self.state.lock:
            return copy.deepcopy(self.state.trial_will_end(subscription_id))

    def delete_customer(self, customer_id: str) -> dict[str, Any]:
        """Delete a customer and end its subscriptions (``customer.deleted``)."""
        with self.state.lock:
            return copy.deepcopy(self.state.delete_customer(customer_id))

    def create_clock(self, frozen_time: int, name: str | None = None) -> str:
        """Create a test clock frozen at ``frozen_time``; returns its id.

        Customers created with ``test_clock=<id>`` (and their subscriptions) live on it.
        """
        with self.state.lock:
            return str(self.state.create_clock({"frozen_time": frozen_time, "name": name})["id"])

    def advance_clock(self, clock_id: str, frozen_time: int) -> dict[str, Any]:
        """Advance a test clock, running renewals, trial ends, failed payments and retries."""
        with self.state.lock:
            return copy.deepcopy(self.state.advance_clock(clock_id, {"frozen_time": frozen_time}))

    def set_payment_failing(self, customer_id: str, failing: bool = True) -> None:
        """Make the customer's next charges fail (renewals on a test clock, retries)."""
        with self.state.lock:
            self.state.set_payment_failing(customer_id, failing)

    # ---- webhooks ------------------------------------------------------------------
    def forward_webhooks(self, url: str, *, log: bool = True) -> WebhookForwarder:
        """POST every event, signed, to ``url`` from now on (like ``stripe listen``).

        Events go out in order from a background thread after each API change, and at
        once when the checkout page is paid; one the app does not accept is sent again.
        """
        if self.forwarder is not None:
            self.forwarder.stop()
        self.forwarder = WebhookForwarder(self, url, log=log)
        self.forwarder.start()
        return self.forwarder

    def flush_webhooks(self) -> bool:
        """Deliver the pending events to the forwarding URL now (``True``: all accepted).

        Without :meth:`forward_webhooks`, events wait for :meth:`take_events`.
        """
        forwarder = self.forwarder
        return forwarder.flush() if forwarder is not None else True

    def _wake_forwarder(self) -> None:
        forwarder = self.forwarder
        if forwarder is not None:
            forwarder.wake()

    def take_events(self) -> list[dict[str, Any]]:
        """The events emitted since the last call (in order), as webhook bodies."""
        with self.state.lock:
            events, self.state.pending = self.state.pending, []
            return copy.deepcopy(events)

    def sign(
        self, payload: bytes | str, *, timestamp: int | None = None, secret: str | None = None
    ) -> str:
        """A ``Stripe-Signature`` header for ``payload`` (Stripe's HMAC-SHA256 scheme)."""
        text = payload.decode() if isinstance(payload, bytes) else payload
        when = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(
            (secret or self.webhook_secret).encode(), f"{when}.{text}".encode(), hashlib.sha256
        )
        return f"t={when},v1={mac.hexdigest()}"

    async def deliver(
        self,
        client: httpx.AsyncClient,
        path: str = DEFAULT_WEBHOOK_PATH,
        *,
        events: Sequence[dict[str, Any]] | None = None,
        shuffle: bool = False,
        duplicate: bool = False,
        seed: int | None = None,
        timestamp: int | None = None,
    ) -> list[httpx.Response]:
        """POST events (default: :meth:`take_events`) to ``path`` with ``client``.

        ``duplicate`` sends each event twice; ``shuffle`` sends them in a random order
        (``seed`` makes it repeatable); ``timestamp`` signs as of another time.
        """
        batch = list(self.take_events() if events is None else events)
        if duplicate:
            batch = batch + batch
        if shuffle:
            random.Random(seed).shuffle(batch)  # noqa: S311 - test ordering, not crypto
        responses = []
        for event in batch:
            body = json.dumps(event).encode()
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": self.sign(body, timestamp=timestamp),
            }
            responses.append(await client.post(path, content=body, headers=headers))
        return responses

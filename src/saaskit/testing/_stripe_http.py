"""HTTP for the fake Stripe: form-encoded requests in, Stripe-shaped JSON out.

Handles what the real SDK sends: ``Authorization: Bearer``, ``Stripe-Version``,
``Idempotency-Key`` (replayed for the same parameters, refused for others), bracketed
form keys (``metadata[user_id]``, ``line_items[0][price]``, ``expand[0]``), and errors
as Stripe's ``{"error": {"type", "code", "message", "param"}}`` envelope.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from saaskit.testing._stripe_objects import StripeFailure
from saaskit.testing._stripe_pages import PAGE_PREFIXES, Page, handle_page
from saaskit.testing._stripe_state import public

if TYPE_CHECKING:
    from saaskit.testing._stripe_clocks import ClockedState as FakeStripeState
    from saaskit.testing.fake_stripe import FakeStripe

Handler = Callable[["FakeStripeState", dict[str, Any], str], dict[str, Any]]


@dataclass(frozen=True)
class RecordedRequest:
    """One API call the fake received."""

    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None
    stripe_version: str | None
    status: int = 0


@dataclass
class Failure:
    """An injected failure: the next matching calls get ``status`` (or a dropped socket)."""

    status: int
    body: dict[str, Any]
    method: str | None = None
    path: str | None = None
    times: int = 1
    disconnect: bool = False
    delay: float = 0.0
    matched: list[int] = field(default_factory=list)

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or path.startswith(self.path)
        )


def parse_form(text: str) -> dict[str, Any]:
    """Stripe's bracketed form encoding as nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        head, bracket, rest = key.partition("[")
        parts = [head, *re.findall(r"\[([^\]]*)\]", bracket + rest)]
        node = root
        for index, part in enumerate(parts):
            name = part or str(len(node))  # `key[]` appends
            if index == len(parts) - 1:
                node[name] = value
            else:
                child = node.setdefault(name, {})
                if not isinstance(child, dict):
                    break  # a key sent both as a value and as a container: keep the value
                node = child
    parsed: dict[str, Any] = _lists(root)
    return parsed


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted: dict[str, Any] = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


# The parameters each operation takes (Stripe answers 400 ``parameter_unknown`` to any other).
_LIST = frozenset({"limit", "starting_after", "ending_before", "created", "expand"})
_CUSTOMER = frozenset(
    {
        "address", "balance", "description", "email", "invoice_settings", "metadata", "name",
        "phone", "preferred_locales", "shipping", "tax_exempt", "expand",
    }
)  # fmt: skip
_PARAMS: dict[str, frozenset[str]] = {
    "customers.create": _CUSTOMER | {"payment_method", "tax_id_data", "test_clock"},
    "customers.list": _LIST | {"email", "test_clock"},
    "customers.update": _CUSTOMER | {"default_source"},
    "prices.create": frozenset(
        {
            "currency",
            "unit_amount",
            "recurring",
            "product",
            "product_data",
            "lookup_key",
            "nickname",
            "active",
            "metadata",
            "tax_behavior",
            "transfer_lookup_key",
            "billing_scheme",
            "expand",
        }
    ),
    "prices.list": _LIST | {"active", "currency", "lookup_keys", "product", "type", "recurring"},
    "checkout.sessions.create": frozenset(
        {
            "mode",
            "customer",
            "customer_email",
            "client_reference_id",
            "line_items",
            "success_url",
            "cancel_url",
            "return_url",
            "metadata",
            "subscription_data",
            "allow_promotion_codes",
            "discounts",
            "automatic_tax",
            "tax_id_collection",
            "billing_address_collection",
            "customer_update",
            "payment_method_types",
            "locale",
            "ui_mode",
            "expires_at",
            "consent_collection",
            "custom_fields",
            "currency",
            "phone_number_collection",
            "payment_method_collection",
            "expand",
        }
    ),
    "checkout.sessions.list": _LIST
    | {"customer", "customer_details", "payment_intent", "payment_link", "status", "subscription"},
    "checkout.sessions.expire": frozenset({"expand"}),
    "billing_portal.sessions.create": frozenset(
        {"customer", "return_url", "configuration", "flow_data", "locale", "on_behalf_of", "expand"}
    ),
    "subscriptions.list": _LIST
    | {
        "customer",
        "status",
        "price",
        "test_clock",
        "collection_method",
        "current_period_end",
        "current_period_start",
    },
    "subscriptions.update": frozenset(
        {
            "cancel_at_period_end",
            "items",
            "metadata",
            "proration_behavior",
            "proration_date",
            "cancel_at",
            "default_payment_method",
            "payment_behavior",
            "trial_end",
            "pause_collection",
            "description",
            "billing_cycle_anchor",
            "collection_method",
            "discounts",
            "expand",
        }
    ),
    "subscriptions.cancel": frozenset({"invoice_now", "prorate", "cancellation_details", "expand"}),
    "events.list": _LIST | {"type", "types", "delivery_success"},
    "invoices.list": _LIST | {"customer", "subscription", "status", "collection_method"},
    "invoices.create_preview": frozenset(
        {"customer", "subscription", "subscription_details", "automatic_tax", "expand"}
    ),
    "billing.meter_events.create": frozenset(
        {"event_name", "payload", "identifier", "timestamp", "expand"}
    ),
    "test_clocks.create": frozenset({"frozen_time", "name", "expand"}),
    "test_clocks.advance": frozenset({"frozen_time", "expand"}),
    "test_clocks.list": _LIST,
    "retrieve": frozenset({"expand"}),
    "delete": frozenset(),
}


def _routes() -> list[tuple[str, re.Pattern[str], Handler, frozenset[str]]]:
    def expanded(obj: dict[str, Any], state: FakeStripeState, params: dict[str, Any]) -> Any:
        return public(state.expand(obj, list(params.get("expand") or [])))

    table: list[tuple[str, str, Handler, str]] = [
        ("POST", r"/v1/customers", lambda s, p, _: s.create_customer(p), "customers.create"),
        ("GET", r"/v1/customers", lambda s, p, _: s.list_customers(p), "customers.list"),
        (
            "GET",
            r"/v1/customers/(?P<id>[^/]+)",
            lambda s, p, i: s.retrieve_customer(i),
            "retrieve",
        ),
        (
            "POST",
            r"/v1/customers/(?P<id>[^/]+)",
            lambda s, p, i: s.update_customer(i, p),
            "customers.update",
        ),
        ("DELETE", r"/v1/customers/(?P<id>[^/]+)", lambda s, p, i: s.delete_customer(i), "delete"),
        ("POST", r"/v1/prices", lambda s, p, _: s.create_price(p), "prices.create"),
        ("GET", r"/v1/prices", lambda s, p, _: expanded(s.list_prices(p), s, p), "prices.list"),
        (
            "GET",
            r"/v1/prices/(?P<id>[^/]+)",
            lambda s, p, i: expanded(s.find("prices", i, "price"), s, p),
            "retrieve",
        ),
        (
            "POST",
            r"/v1/checkout/sessions",
            lambda s, p, _: s.create_checkout_session(p),
            "checkout.sessions.create",
        ),
        (
            "GET",
            r"/v1/checkout/sessions",
            lambda s, p, _: s.list_checkout_sessions(p),
            "checkout.sessions.list",
        ),
        (
            "POST",
            r"/v1/checkout/sessions/(?P<id>[^/]+)/expire",
            lambda s, p, i: s.expire_checkout_session(i),
            "checkout.sessions.expire",
        ),
        (
            "GET",
            r"/v1/checkout/sessions/(?P<id>[^/]+)",
            lambda s, p, i: expanded(s.find("checkout_sessions", i, "checkout session"), s, p),
            "retrieve",
        ),
        (
            "POST",
            r"/v1/billing_portal/sessions",
            lambda s, p, _: s.create_portal_session(p),
            "billing_portal.sessions.create",
        ),
        (
            "GET",
            r"/v1/subscriptions",
            lambda s, p, _: expanded(s.list_subscriptions(p), s, p),
            "subscriptions.list",
        ),
        (
            "GET",
            r"/v1/subscriptions/(?P<id>[^/]+)",
            lambda s, p, i: expanded(s.retrieve_subscription(i), s, p),
            "retrieve",
        ),
        (
            "POST",
            r"/v1/subscriptions/(?P<id>[^/]+)",
            lambda s, p, i: s.update_subscription(i, p),
            "subscriptions.update",
        ),
        (
            "DELETE",
            r"/v1/subscriptions/(?P<id>[^/]+)",
            lambda s, p, i: s.cancel_subscription(i),
            "subscriptions.cancel",
        ),
        ("GET", r"/v1/invoices", lambda s, p, _: s.list_invoices(p), "invoices.list"),
        (
            "POST",
            r"/v1/invoices/create_preview",
            lambda s, p, _: s.create_preview(p),
            "invoices.create_preview",
        ),
        ("GET", r"/v1/invoices/(?P<id>[^/]+)", lambda s, p, i: s.retrieve_invoice(i), "retrieve"),
        ("GET", r"/v1/events", lambda s, p, _: s.list_events(p), "events.list"),
        (
            "POST",
            r"/v1/billing/meter_events",
            lambda s, p, _: s.create_meter_event(p),
            "billing.meter_events.create",
        ),
        (
            "POST",
            r"/v1/test_helpers/test_clocks",
            lambda s, p, _: s.create_clock(p),
            "test_clocks.create",
        ),
        (
            "GET",
            r"/v1/test_helpers/test_clocks",
            lambda s, p, _: s.list_clocks(p),
            "test_clocks.list",
        ),
        (
            "GET",
            r"/v1/test_helpers/test_clocks/(?P<id>[^/]+)",
            lambda s, p, i: s.retrieve_clock(i),
            "retrieve",
        ),
        (
            "POST",
            r"/v1/test_helpers/test_clocks/(?P<id>[^/]+)/advance",
            lambda s, p, i: s.advance_clock(i, p),
            "test_clocks.advance",
        ),
        (
            "DELETE",
            r"/v1/test_helpers/test_clocks/(?P<id>[^/]+)",
            lambda s, p, i: s.delete_clock(i),
            "delete",
        ),
        (
            "GET",
            r"/v1/events/(?P<id>[^/]+)",
            lambda s, p, i: s.find("events", i, "event"),
            "retrieve",
        ),
    ]
    return [
        (method, re.compile(pattern + r"/?"), fn, _PARAMS[operation])
        for method, pattern, fn, operation in table
    ]


ROUTES = _routes()


class StripeRequestHandler(BaseHTTPRequestHandler):
    """One connection to the fake; ``server.fake`` is the :class:`FakeStripe`."""

    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections end, so their threads do too
    # One buffered write per response and no Nagle: headers and body in separate small
    # packets would wait on the client's delayed ACK (~40 ms a call).
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    fake: FakeStripe

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read :attr:`FakeStripe.requests` instead of a log."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        fake = self.server.fake  # type: ignore[attr-defined]
        if fake._stopping.is_set():  # stopped: answer nothing, like a server that is gone
            self.close_connection = True
            return
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            # The client went away mid-body (a killed process): like Stripe, act on
            # nothing that did not arrive whole.
            self.close_connection = True
            return
        if not fake._wait_if_held():
            self.close_connection = True  # the fake is stopping
            return
        if split.path.startswith(PAGE_PREFIXES):
            self._page(handle_page(fake, method, split.path))
            return
        body = raw.decode()
        params = parse_form(body if method == "POST" else split.query)
        key = self.headers.get("Idempotency-Key")  # recorded; replayed for POST only
        status, payload, replayed, delay = fake.front.dispatch(
            method,
            split.path,
            params,
            key,
            self.headers.get("Authorization"),
            self.headers.get("Stripe-Version"),
        )
        if delay:
            time.sleep(delay)  # a slow Stripe (this handler's thread only)
        if status == 0:  # an injected dropped connection
            self.close_connection = True
            return
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
        self.send_header("Stripe-Version", fake.state.api_version)
        if key and method == "POST":
            self.send_header("Idempotency-Key", key)
        if replayed:
            self.send_header("Idempotent-Replayed", "true")
        self.end_headers()
        self.wfile.write(data)
        if method != "GET":
            fake._wake_forwarder()  # events of this change go to the forwarding URL

    def _page(self, page: Page) -> None:
        data = page.body.encode()
        self.send_response(page.status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:",
        )
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in page.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


# Pages only: no script, inline style, and the Pay form may redirect to the app.
_PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:"


def route(state: FakeStripeState, method: str, path: str, params: dict[str, Any]) -> Any:
    """Run the API operation for ``method path`` (raises :class:`StripeFailure`)."""
    for route_method, pattern, handler, allowed in ROUTES:
        match = pattern.fullmatch(path)
        if match and route_method == method:
            unknown = sorted(set(params) - allowed)
            if unknown:
                raise StripeFailure(
                    400,
                    f"Received unknown parameter: {unknown[0]}",
                    code="parameter_unknown",
                    param=unknown[0],
                )
            return public(handler(state, params, match.groupdict().get("id", "")))
    raise StripeFailure(404, f"Unrecognized request URL ({method}: {path}).")


class ApiFront:
    """What happens before a request reaches the resources.

    The key check, injected failures, idempotency-key replay, and the request log. Runs under
    the state lock.
    """

    def __init__(self, state: FakeStripeState, api_key: str) -> None:
        self.state = state
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self.failures: list[Failure] = []
        self.idempotent: dict[str, tuple[tuple[str, str, str], int, Any]] = {}

    def dispatch(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        idempotency_key: str | None,
        authorization: str | None,
        stripe_version: str | None,
    ) -> tuple[int, Any, bool, float]:
        """Answer one request: status (0 drops the connection), body, replayed, delay."""
        with self.state.lock:
            delay = next(
                (f.delay for f in self.failures if f.delay and f.matches(method, path)), 0.0
            )
            status, payload, replayed = self._answer(
                method, path, params, idempotency_key, authorization
            )
            self.requests.append(
                RecordedRequest(method, path, params, idempotency_key, stripe_version, status)
            )
            return status, copy.deepcopy(payload), replayed, delay

    def _answer(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        key: str | None,
        authorization: str | None,
    ) -> tuple[int, Any, bool]:
        if authorization != f"Bearer {self.api_key}":
            refused = StripeFailure(401, "Invalid API Key provided: sk_****")
            return refused.status, refused.body(), False
        for injected in self.failures:
            if injected.matches(method, path):
                injected.times -= 1
                if injected.times <= 0:
                    self.failures.remove(injected)
                return (0 if injected.disconnect else injected.status), injected.body, False
        if method != "POST":
            key = None  # Stripe: GET and DELETE are idempotent by nature; keys do nothing
        fingerprint = (method, path, json.dumps(params, sort_keys=True))
        if key is not None and key in self.idempotent:
            seen, status, payload = self.idempotent[key]
            if seen == fingerprint:
                return status, payload, True
            conflict = StripeFailure(
                400,
                "Keys for idempotent requests can only be used with the same parameters "
                "they were first used with.",
                type="idempotency_error",
            )
            return conflict.status, conflict.body(), False
        try:
            status, payload = 200, route(self.state, method, path, params)
        except StripeFailure as failure:
            status, payload = failure.status, failure.body()
            # Stripe saves a result only once the request started executing: a request
            # refused by validation (an invalid_request_error) is not saved, so the same
            # key with corrected parameters is a new request, not a conflict.
            if failure.type == "invalid_request_error":
                return status, payload, False
        if key is not None:
            self.idempotent[key] = (fingerprint, status, copy.deepcopy(payload))
        return status, payload, False

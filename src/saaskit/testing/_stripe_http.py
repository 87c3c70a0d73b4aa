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
from saaskit.testing._stripe_state import public

if TYPE_CHECKING:
    from saaskit.testing._stripe_billing import FakeStripeState
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


def _routes() -> list[tuple[str, re.Pattern[str], Handler]]:
    def expanded(obj: dict[str, Any], state: FakeStripeState, params: dict[str, Any]) -> Any:
        return public(state.expand(obj, list(params.get("expand") or [])))

    table: list[tuple[str, str, Handler]] = [
        ("POST", r"/v1/customers", lambda s, p, _: s.create_customer(p)),
        ("GET", r"/v1/customers", lambda s, p, _: s.list_customers(p)),
        ("GET", r"/v1/customers/(?P<id>[^/]+)", lambda s, p, i: s.retrieve_customer(i)),
        ("POST", r"/v1/customers/(?P<id>[^/]+)", lambda s, p, i: s.update_customer(i, p)),
        ("DELETE", r"/v1/customers/(?P<id>[^/]+)", lambda s, p, i: s.delete_customer(i)),
        ("POST", r"/v1/prices", lambda s, p, _: s.create_price(p)),
        ("GET", r"/v1/prices", lambda s, p, _: expanded(s.list_prices(p), s, p)),
        (
            "GET",
            r"/v1/prices/(?P<id>[^/]+)",
            lambda s, p, i: expanded(s.find("prices", i, "price"), s, p),
        ),
        ("POST", r"/v1/checkout/sessions", lambda s, p, _: s.create_checkout_session(p)),
        ("GET", r"/v1/checkout/sessions", lambda s, p, _: s.list_checkout_sessions(p)),
        (
            "POST",
            r"/v1/checkout/sessions/(?P<id>[^/]+)/expire",
            lambda s, p, i: s.expire_checkout_session(i),
        ),
        (
            "GET",
            r"/v1/checkout/sessions/(?P<id>[^/]+)",
            lambda s, p, i: expanded(s.find("checkout_sessions", i, "checkout session"), s, p),
        ),
        ("POST", r"/v1/billing_portal/sessions", lambda s, p, _: s.create_portal_session(p)),
        ("GET", r"/v1/subscriptions", lambda s, p, _: expanded(s.list_subscriptions(p), s, p)),
        (
            "GET",
            r"/v1/subscriptions/(?P<id>[^/]+)",
            lambda s, p, i: expanded(s.retrieve_subscription(i), s, p),
        ),
        ("POST", r"/v1/subscriptions/(?P<id>[^/]+)", lambda s, p, i: s.update_subscription(i, p)),
        ("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", lambda s, p, i: s.cancel_subscription(i)),
        ("GET", r"/v1/invoices/(?P<id>[^/]+)", lambda s, p, i: s.retrieve_invoice(i)),
        ("GET", r"/v1/events", lambda s, p, _: s.list_events(p)),
        ("GET", r"/v1/events/(?P<id>[^/]+)", lambda s, p, i: s.find("events", i, "event")),
    ]
    return [(method, re.compile(pattern + r"/?"), fn) for method, pattern, fn in table]


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


def route(state: FakeStripeState, method: str, path: str, params: dict[str, Any]) -> Any:
    """Run the API operation for ``method path`` (raises :class:`StripeFailure`)."""
    for route_method, pattern, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match and route_method == method:
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
        if key is not None:
            self.idempotent[key] = (fingerprint, status, copy.deepcopy(payload))
        return status, payload, False

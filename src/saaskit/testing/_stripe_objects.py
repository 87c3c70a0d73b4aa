"""Objects of the fake Stripe: storage, ids, errors, lists, expansion and events.

Everything here runs under :attr:`FakeStripeState.lock`; the HTTP handler threads and
the test's control calls share one state.
"""

from __future__ import annotations

import copy
import secrets
import string
import threading
import time
from typing import Any

_ALPHABET = string.ascii_letters + string.digits

# id prefix → collection name, for expansion and lookups by id
PREFIXES = {
    "cus": "customers",
    "prod": "products",
    "price": "prices",
    "cs": "checkout_sessions",
    "bps": "portal_sessions",
    "sub": "subscriptions",
    "si": "subscription_items",
    "in": "invoices",
    "ii": "invoiceitems",
    "evt": "events",
    "clock": "test_clocks",
}


class StripeFailure(Exception):
    """An error the fake answers with Stripe's envelope ``{"error": {...}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


def missing(kind: str, object_id: str, param: str = "id") -> StripeFailure:
    return StripeFailure(
        404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


def invalid(message: str, param: str | None = None) -> StripeFailure:
    return StripeFailure(400, message, code="parameter_invalid", param=param)


def list_of(items: list[dict[str, Any]], url: str, params: dict[str, Any]) -> dict[str, Any]:
    """One page of ``items`` (newest first), as Stripe pages lists.

    ``limit`` (1 to 100, 10 by default), then ``starting_after`` (the objects after that
    id) or ``ending_before`` (the page just before that id); an id that is not in the list
    is a ``resource_missing`` error, as in Stripe.
    """
    limit = to_int(params.get("limit"), "limit", 10)
    if not 1 <= limit <= 100:
        raise invalid("Invalid integer: limit must be between 1 and 100", "limit")
    after, before = params.get("starting_after"), params.get("ending_before")
    if after and before:
        raise invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            "starting_after",
        )
    ids = [item["id"] for item in items]
    for param, cursor in (("starting_after", after), ("ending_before", before)):
        if cursor and cursor not in ids:
            raise missing("object", str(cursor), param)
    if after:
        rest = items[ids.index(after) + 1 :]
        return {"object": "list", "data": rest[:limit], "has_more": len(rest) > limit, "url": url}
    if before:
        head = items[: ids.index(before)]
        page = head[-limit:]
        return {"object": "list", "data": page, "has_more": len(head) > limit, "url": url}
    return {"object": "list", "data": items[:limit], "has_more": len(items) > limit, "url": url}


def to_int(value: Any, param: str, default: int | None = None) -> int:
    if value is None or value == "":
        if default is None:
            raise StripeFailure(
                400, f"Missing required param: {param}.", code="parameter_missing", param=param
            )
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", param) from None


def to_bool(value: Any) -> bool:
    return str(value).lower() == "true"


class ObjectStore:
    """Collections of Stripe objects by id, an event log and a clock."""

    def __init__(self, api_version: str) -> None:
        self.lock = threading.RLock()
        self.api_version = api_version
        self.collections: dict[str, dict[str, dict[str, Any]]] = {
            name: {} for name in PREFIXES.values()
        }
        self.pending: list[dict[str, Any]] = []
        self.clock_offset = 0
        self.frozen_now: int | None = None  # a test clock's time while it advances

    def now(self) -> int:
        if self.frozen_now is not None:
            return self.frozen_now
        return int(time.time()) + self.clock_offset

    def new_id(self, prefix: str) -> str:
        body = "".join(secrets.choice(_ALPHABET) for _ in range(24))
        return f"{prefix}_{body}"

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        prefix = str(obj["id"]).split("_", 1)[0]
        self.collections[PREFIXES[prefix]][obj["id"]] = obj
        return obj

    def find(self, collection: str, object_id: str, kind: str, param: str = "id") -> dict[str, Any]:
        found = self.collections[collection].get(object_id)
        if found is None:
            raise missing(kind, object_id, param)
        return found

    def by_id(self, object_id: str) -> dict[str, Any] | None:
        prefix = object_id.split("_", 1)[0]
        collection = PREFIXES.get(prefix)
        return self.collections[collection].get(object_id) if collection else None

    def expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        """A copy of ``obj`` with the dotted ``paths`` replaced by the objects they name."""
        result = copy.deepcopy(obj)
        for path in paths:
            _expand_path(self, result, path.split("."))
        return result

    def emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record an event carrying a snapshot of ``obj``, as Stripe does."""
        snapshot = {k: v for k, v in obj.items() if not k.startswith("_")}
        data: dict[str, Any] = {"object": copy.deepcopy(snapshot)}
        if previous:
            data["previous_attributes"] = copy.deepcopy(previous)
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": self.api_version,
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        self.put(event)
        self.pending.append(event)
        return event


def _expand_path(store: ObjectStore, node: Any, parts: list[str]) -> None:
    if not parts or not isinstance(node, dict):
        return
    head, rest = parts[0], parts[1:]
    if head == "data" and isinstance(node.get("data"), list):
        for item in node["data"]:
            _expand_path(store, item, rest)
        return
    value = node.get(head)
    if rest:
        _expand_path(store, value, rest)
    elif isinstance(value, str):
        target = store.by_id(value)
        if target is not None:
            node[head] = copy.deepcopy(target)

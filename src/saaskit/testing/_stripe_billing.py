"""The fake Stripe's subscriptions and invoices, and the lifecycle a test drives.

Complete a checkout, change, renew, fail a payment, cancel, delete a customer.
"""

from __future__ import annotations

import copy
from typing import Any

from saaskit.testing._stripe_objects import (
    StripeFailure,
    invalid,
    list_of,
    missing,
    to_bool,
    to_int,
)
from saaskit.testing._stripe_state import CatalogState

PERIOD_SECONDS = {"day": 86400, "week": 7 * 86400, "month": 30 * 86400, "year": 365 * 86400}
LIVE_STATUSES = ("active", "trialing", "past_due", "unpaid", "incomplete", "paused")
PRORATION_BEHAVIORS = ("create_prorations", "none", "always_invoice")


class FakeStripeState(CatalogState):
    """Every resource of the fake Stripe, and the control operations tests use."""

    invoice_count = 0  # numbers the invoices: FAKE-0001, ...

    def __init__(self, api_version: str) -> None:
        super().__init__(api_version)
        self.meter_events: dict[str, dict[str, Any]] = {}  # by identifier, in arrival order

    # ---- subscriptions (API) -------------------------------------------------------
    def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        return self.find("subscriptions", subscription_id, "subscription")

    def list_subscriptions(self, params: dict[str, Any]) -> dict[str, Any]:
        status = params.get("status")
        items = [
            s
            for s in self.collections["subscriptions"].values()
            if (not params.get("customer") or s["customer"] == params["customer"])
            and (
                status == "all"
                or (status is None and s["status"] != "canceled")
                or s["status"] == status
            )
        ]
        items.sort(key=lambda s: s["created"])
        items.reverse()  # newest first; the same second: the later one first
        return list_of(items, "/v1/subscriptions", params)

    quantity_updates_per_hour = 200
    """Quantity changes a subscription accepts per rolling hour (Stripe's limit); more
    get 429 ``rate_limit``."""

    def update_subscription(self, subscription_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/subscriptions/{id}``: price, quantity, cancellation, metadata.

        A price or quantity change is prorated as ``proration_behavior`` says
        (``create_prorations`` by default: a pending proration invoice item;
        ``always_invoice``: an invoice for it at once; ``none``).
        """
        changes: dict[str, Any] = {}
        if "cancel_at_period_end" in params:
            changes["cancel_at_period_end"] = to_bool(params["cancel_at_period_end"])
        items = params.get("items") or []
        if items:
            changes["price"] = items[0].get("price")
            if items[0].get("quantity"):
                changes["quantity"] = to_int(items[0]["quantity"], "items[0][quantity]")
                if changes["quantity"] < 1:
                    raise invalid("Invalid positive integer", "items[0][quantity]")
        if "metadata" in params:
            changes["metadata"] = params["metadata"]
        behavior = str(params.get("proration_behavior") or "create_prorations")
        if behavior not in PRORATION_BEHAVIORS:
            raise invalid(f"Invalid proration_behavior: {behavior}", "proration_behavior")
        sub = self.retrieve_subscription(subscription_id)
        item = sub["items"]["data"][0]
        before = (item["price"]["unit_amount"], item["quantity"])
        quantity_change = "quantity" in changes and changes["quantity"] != item["quantity"]
        if quantity_change:
            self._count_quantity_update(sub)
        at = to_int(params.get("proration_date"), "proration_date", self.now())
        updated = self.change_subscription(subscription_id, **changes)
        self._prorate(updated, before, behavior, at)
        return updated

    def _count_quantity_update(self, sub: dict[str, Any]) -> None:
        now = self.now()
        recent = [t for t in sub.get("_quantity_updates", []) if t > now - 3600]
        if len(recent) >= self.quantity_updates_per_hour:
            raise StripeFailure(
                429,
                "Too many quantity updates for this subscription; try again later.",
                type="invalid_request_error",
                code="rate_limit",
            )
        sub["_quantity_updates"] = [*recent, now]

    def _prorate(
        self, sub: dict[str, Any], before: tuple[int, int], behavior: str, now: int
    ) -> None:
        """Bill the rest of the period (from ``now``) at the new amount, as ``behavior`` says."""
        item = sub["items"]["data"][0]
        after = (item["price"]["unit_amount"], item["quantity"])
        if behavior == "none" or after == before or sub["status"] != "active":
            return
        start, end = item["current_period_start"], item["current_period_end"]
        left = max(0.0, min(1.0, (end - now) / max(1, end - start)))
        amount = round((after[0] * after[1] - before[0] * before[1]) * left)
        invoice_item = self.put(
            {
                "id": self.new_id("ii"),
                "object": "invoiceitem",
                "customer": sub["customer"],
                "subscription": sub["id"],
                "amount": amount,
                "currency": sub["currency"],
                "quantity": item["quantity"],
                "proration": True,
                "period": {"start": now, "end": end},
                "invoice": None,
                "date": now,
                "livemode": False,
            }
        )
        if behavior == "always_invoice":
            invoice = self._invoice(sub, paid=True, amount=max(0, amount))
            invoice_item["invoice"] = invoice["id"]

    def pending_invoice_items(self, subscription_id: str) -> list[dict[str, Any]]:
        """Invoice items of the subscription not on an invoice yet (pending prorations)."""
        return [
            i
            for i in self.collections["invoiceitems"].values()
            if i["subscription"] == subscription_id and i["invoice"] is None
        ]

    # ---- subscriptions (control) ---------------------------------------------------
    def complete_checkout(self, session_id: str) -> dict[str, Any]:
        """Pay a Checkout session: its subscription starts (trialing with a trial)."""
        session = self.find("checkout_sessions", session_id, "checkout session")
        if session["status"] != "open":
            raise invalid(f"Checkout session {session_id} is {session['status']}")
        if not session["customer"]:
            created = self.create_customer({"email": session.get("customer_email")})
            session["customer"] = created["id"]
        data = session["_subscription_data"]
        trial_days = to_int(data.get("trial_period_days"), "trial_period_days", 0)
        subscription = self._new_subscription(
            session["customer"], session["_line_items"], trial_days, data.get("metadata") or {}
        )
        self.emit("customer.subscription.created", subscription)
        self._invoice(subscription, paid=True)
        session.update(
            status="complete",
            payment_status="no_payment_required" if trial_days else "paid",
            subscription=subscription["id"],
        )
        self.emit("checkout.session.completed", session)
        return subscription

    def _new_subscription(
        self,
        customer_id: str,
        line_items: list[dict[str, Any]],
        trial_days: int,
        metadata: dict[str, Any],
    ) -> dict[str, Any]:
        now = self.now()
        sub_id = self.new_id("sub")
        price = self.collections["prices"][line_items[0]["price"]]
        end = now + trial_days * 86400 if trial_days else now + _period(price)
        items = [
            {
                "id": self.new_id("si"),
                "object": "subscription_item",
                "price": copy.deepcopy(self.collections["prices"][item["price"]]),
                "quantity": item["quantity"],
                "current_period_start": now,
                "current_period_end": end,
                "subscription": sub_id,
            }
            for item in line_items
        ]
        subscription = {
            "id": sub_id,
            "object": "subscription",
            "customer": customer_id,
            "status": "trialing" if trial_days else "active",
            "items": {
                "object": "list",
                "data": items,
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "metadata": {str(k): str(v) for k, v in metadata.items()},
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "created": now,
            "start_date": now,
            "trial_start": now if trial_days else None,
            "trial_end": end if trial_days else None,
            "collection_method": "charge_automatically",
            "currency": price["currency"],
            "latest_invoice": None,
            "livemode": False,
            "test_clock": None,
        }
        return self.put(subscription)

    def change_subscription(
        self,
        subscription_id: str,
        *,
        price: str | None = None,
        quantity: int | None = None,
        status: str | None = None,
        cancel_at_period_end: bool | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Change a live subscription and emit ``customer.subscription.updated``."""
        sub = self.retrieve_subscription(subscription_id)
        if sub["status"] == "canceled":
            raise invalid("A canceled subscription can only update its cancellation_details.")
        item = sub["items"]["data"][0]
        previous: dict[str, Any] = {}
        if price is not None:
            previous["items"] = copy.deepcopy(sub["items"])
            item["price"] = copy.deepcopy(self.price_for(price, "items[0][price]"))
        if quantity is not None:
            previous.setdefault("items", copy.deepcopy(sub["items"]))
            item["quantity"] = quantity
        if status is not None:
            previous["status"] = sub["status"]
            sub["status"] = status
        if cancel_at_period_end is not None:
            previous["cancel_at_period_end"] = sub["cancel_at_period_end"]
            sub["cancel_at_period_end"] = cancel_at_period_end
            sub["cancel_at"] = item["current_period_end"] if cancel_at_period_end else None
            sub["canceled_at"] = self.now() if cancel_at_period_end else None
        if metadata is not None:
            previous["metadata"] = dict(sub["metadata"])
            sub["metadata"] = {**sub["metadata"], **{k: str(v) for k, v in metadata.items()}}
        self.emit("customer.subscription.updated", sub, previous)
        return sub

    def cancel_subscription(self, subscription_id: str) -> dict[str, Any]:
        """End a subscription now (``customer.subscription.deleted``)."""
        sub = self.retrieve_subscription(subscription_id)
        if sub["status"] == "canceled":
            raise invalid(f"No such subscription: '{subscription_id}' is already canceled")
        now = self.now()
        sub.update(status="canceled", ended_at=now, canceled_at=sub["canceled_at"] or now)
        self.emit("customer.subscription.deleted", sub)
        return sub

    def renew(self, subscription_id: str) -> dict[str, Any]:
        """Start the next period: the invoice is paid and the subscription is active."""
        sub = self.retrieve_subscription(subscription_id)
        previous = {"status": sub["status"], "items": copy.deepcopy(sub["items"])}
        for item in sub["items"]["data"]:
            start = item["current_period_end"]
            item.update(
                current_period_start=start, current_period_end=start + _period(item["price"])
            )
        sub.update(status="active", trial_end=sub["trial_end"])
        self._invoice(sub, paid=True)
        self.emit("customer.subscription.updated", sub, previous)
        return sub

    def fail_payment(self, subscription_id: str) -> dict[str, Any]:
        """The renewal payment fails: the invoice stays open, the subscription is past due."""
        sub = self.retrieve_subscription(subscription_id)
        invoice = self._invoice(sub, paid=False)
        self.emit("invoice.payment_failed", invoice)
        previous = {"status": sub["status"]}
        sub["status"] = "past_due"
        self.emit("customer.subscription.updated", sub, previous)
        return invoice

    def trial_will_end(self, subscription_id: str) -> dict[str, Any]:
        sub = self.retrieve_subscription(subscription_id)
        if sub["status"] != "trialing":
            raise invalid(f"Subscription {subscription_id} is not trialing")
        return self.emit("customer.subscription.trial_will_end", sub)

    def delete_customer(self, customer_id: str) -> dict[str, Any]:
        """Delete a customer: its live subscriptions end, then ``customer.deleted``."""
        customer = self.live_customer(customer_id, "id")
        for sub in list(self.collections["subscriptions"].values()):
            if sub["customer"] == customer_id and sub["status"] in LIVE_STATUSES:
                self.cancel_subscription(sub["id"])
        customer["deleted"] = True
        self.emit("customer.deleted", customer)
        return {"id": customer_id, "object": "customer", "deleted": True}

    def _invoice(
        self, sub: dict[str, Any], *, paid: bool, amount: int | None = None
    ) -> dict[str, Any]:
        item = sub["items"]["data"][0]
        if amount is None:
            amount = (
                0
                if sub["status"] == "trialing"
                else item["price"]["unit_amount"] * item["quantity"]
            )
        self.invoice_count += 1
        invoice = {
            "id": self.new_id("in"),
            "object": "invoice",
            "number": f"FAKE-{self.invoice_count:04d}",
            "customer": sub["customer"],
            "status": "paid" if paid else "open",
            "total": amount,
            "amount_due": amount,
            "period_start": item["current_period_start"],
            "period_end": item["current_period_end"],
            "amount_paid": amount if paid else 0,
            "currency": sub["currency"],
            "attempt_count": 1,
            "next_payment_attempt": None if paid else self.now() + 3 * 86400,
            "hosted_invoice_url": None,
            "parent": {
                "type": "subscription_details",
                "subscription_details": {
                    "subscription": sub["id"],
                    "metadata": dict(sub["metadata"]),
                },
            },
            "created": self.now(),
            "livemode": False,
        }
        invoice["hosted_invoice_url"] = f"{self.base_url}/i/{invoice['id']}"
        invoice["invoice_pdf"] = f"{self.base_url}/i/{invoice['id']}/pdf"
        self.put(invoice)
        sub["latest_invoice"] = invoice["id"]
        if paid:
            self.emit("invoice.paid", invoice)
        return invoice

    def retrieve_invoice(self, invoice_id: str) -> dict[str, Any]:
        return self.find("invoices", invoice_id, "invoice")

    def list_invoices(self, params: dict[str, Any]) -> dict[str, Any]:
        customer, subscription = params.get("customer"), params.get("subscription")
        items = [
            i
            for i in self.collections["invoices"].values()
            if (not customer or i["customer"] == customer)
            and (not subscription or _subscription_of(i) == subscription)
            and (not params.get("status") or i["status"] == params["status"])
        ]
        items.sort(key=lambda i: i["created"])
        items.reverse()  # newest first; the same second: the later one first
        return list_of(items, "/v1/invoices", params)

    def create_preview(self, params: dict[str, Any]) -> dict[str, Any]:
        """The invoice a subscription change would make: prorations, then the next period."""
        details = params.get("subscription_details") or {}
        sub = self.retrieve_subscription(str(params.get("subscription") or ""))
        if params.get("customer") and params["customer"] != sub["customer"]:
            raise invalid("The subscription does not belong to this customer.", "subscription")
        item = sub["items"]["data"][0]
        change = (details.get("items") or [{}])[0]
        if change.get("id") and change["id"] != item["id"]:
            raise missing("subscription_item", str(change["id"]), "subscription_details[items]")
        new_price = self.price_for(change.get("price") or item["price"]["id"], "price")
        quantity = to_int(change.get("quantity"), "quantity", item["quantity"])
        at = to_int(details.get("proration_date"), "proration_date", self.now())
        start, end = item["current_period_start"], item["current_period_end"]
        if not start <= at <= end:
            raise invalid("proration_date must be within the current period.", "proration_date")
        remaining = (end - at) / max(1, end - start)
        old_amount = item["price"]["unit_amount"] * item["quantity"]
        new_amount = new_price["unit_amount"] * quantity
        lines = []
        if details.get("proration_behavior", "create_prorations") != "none" and (
            new_price["id"] != item["price"]["id"] or quantity != item["quantity"]
        ):
            lines += [
                _line("Unused time on the current price", -round(old_amount * remaining), True),
                _line("Remaining time on the new price", round(new_amount * remaining), True),
            ]
        lines.append(_line(f"{quantity} x the new price, next period", new_amount, False))
        total = sum(line["amount"] for line in lines)
        return {
            "id": f"upcoming_{self.new_id('in')}",
            "object": "invoice",
            "customer": sub["customer"],
            "subscription_proration_date": at,
            "currency": new_price["currency"],
            "total": total,
            "amount_due": max(0, total),
            "lines": {"object": "list", "data": lines, "has_more": False, "url": "/v1/invoices"},
            "period_start": start,
            "period_end": end,
            "livemode": False,
        }

    def list_events(self, params: dict[str, Any]) -> dict[str, Any]:
        types = params.get("types") or ([params["type"]] if params.get("type") else None)
        created = params.get("created") or {}
        after = to_int(created.get("gt"), "created[gt]", 0) if isinstance(created, dict) else 0
        items = [
            e
            for e in self.collections["events"].values()
            if (types is None or e["type"] in types) and e["created"] > after
        ]
        items.sort(key=lambda e: e["created"])
        items.reverse()  # newest first; the same second: the later one first
        return list_of(items, "/v1/events", params)

    # ---- billing meter events (API) ------------------------------------------------
    def create_meter_event(self, params: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/billing/meter_events``, with Stripe's checks.

        An ``identifier`` seen before is refused (400, "An event already exists with
        identifier ...", as Stripe does within its window of at least 24 hours; the fake
        keeps them all); ``timestamp`` must lie within the past 35 days and at most 5
        minutes ahead; the payload needs ``stripe_customer_id`` and a numeric ``value``.
        """
        event_name = params.get("event_name")
        if not event_name:
            raise StripeFailure(400, "Missing required param: event_name.", param="event_name")
        if len(str(event_name)) > 100:
            raise invalid("event_name is longer than 100 characters", "event_name")
        payload = params.get("payload")
        if not isinstance(payload, dict) or not payload.get("stripe_customer_id"):
            raise StripeFailure(
                400,
                "Missing required param: payload[stripe_customer_id].",
                param="payload[stripe_customer_id]",
            )
        value = payload.get("value")
        try:
            float(str(value))
        except ValueError:
            raise invalid(f"Invalid value: {value}", "payload[value]") from None
        now = self.now()
        timestamp = to_int(params["timestamp"], "timestamp") if "timestamp" in params else now
        if timestamp < now - 35 * 86400:
            raise invalid("Timestamp must be within the past 35 calendar days.", "timestamp")
        if timestamp > now + 5 * 60:
            raise invalid("Timestamp must be no more than 5 minutes in the future.", "timestamp")
        identifier = str(params.get("identifier") or self.new_id("mtrevt"))
        if len(identifier) > 100:
            raise invalid("identifier is longer than 100 characters", "identifier")
        if identifier in self.meter_events:
            raise StripeFailure(400, f"An event already exists with identifier {identifier}.")
        event = {
            "object": "billing.meter_event",
            "created": now,
            "event_name": str(event_name),
            "identifier": identifier,
            "livemode": False,
            "payload": {str(k): str(v) for k, v in payload.items()},
            "timestamp": timestamp,
        }
        self.meter_events[identifier] = event
        return copy.deepcopy(event)


def _subscription_of(invoice: dict[str, Any]) -> str | None:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    found = details.get("subscription")
    return str(found) if found else None


def _line(description: str, amount: int, proration: bool) -> dict[str, Any]:
    return {"object": "line_item", "description": description, "amount": amount,
            "proration": proration}  # fmt: skip


def _period(price: dict[str, Any]) -> int:
    recurring = price.get("recurring") or {}
    return PERIOD_SECONDS.get(recurring.get("interval", "month"), PERIOD_SECONDS["month"]) * int(
        recurring.get("interval_count") or 1
    )


__all__ = ["FakeStripeState", "StripeFailure"]

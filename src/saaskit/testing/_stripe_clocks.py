"""The fake Stripe's test clocks: advance time through renewals, trials and dunning.

As in Stripe (``/v1/test_helpers/test_clocks``): a clock starts frozen at
``frozen_time``; customers created with ``test_clock`` live on it, and so do their
subscriptions. Advancing the clock runs what would happen meanwhile, in time order:
a period ends (renewed and paid, or canceled with ``cancel_at_period_end``), a trial
ends, a renewal payment fails (the customer's default payment method is a failing
test card such as ``pm_card_chargeCustomerFail``, or :meth:`ClockedState.set_payment_failing`)
and is retried on Stripe's default schedule until the subscription is canceled.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from saaskit.testing._stripe_billing import LIVE_STATUSES, FakeStripeState, _period
from saaskit.testing._stripe_objects import invalid, list_of, to_int

DAY = 86400
RETRY_DAYS = (3, 5, 7)
"""Days after a failed renewal when Stripe's default schedule retries (then cancels)."""

FAILING_PAYMENT_METHODS = frozenset(
    {
        "pm_card_chargeCustomerFail",
        "pm_card_visa_chargeDeclined",
        "pm_card_chargeDeclined",
        "pm_card_chargeDeclinedInsufficientFunds",
    }
)
"""Stripe's test payment methods that attach but fail every charge."""


class ClockedState(FakeStripeState):
    """:class:`FakeStripeState` with test clocks."""

    # ---- API -----------------------------------------------------------------------
    def create_clock(self, params: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/test_helpers/test_clocks``."""
        frozen = to_int(params.get("frozen_time"), "frozen_time")
        clock = {
            "id": self.new_id("clock"),
            "object": "test_helpers.test_clock",
            "created": self.now(),
            "deletes_after": self.now() + 30 * DAY,
            "frozen_time": frozen,
            "livemode": False,
            "name": params.get("name") or None,
            "status": "ready",
        }
        return self.put(clock)

    def retrieve_clock(self, clock_id: str) -> dict[str, Any]:
        """``GET /v1/test_helpers/test_clocks/{id}``."""
        return self.find("test_clocks", clock_id, "test_clock")

    def list_clocks(self, params: dict[str, Any]) -> dict[str, Any]:
        """``GET /v1/test_helpers/test_clocks``, newest first."""
        items = sorted(self.collections["test_clocks"].values(), key=lambda c: c["created"])
        items.reverse()
        return list_of(items, "/v1/test_helpers/test_clocks", params)

    def delete_clock(self, clock_id: str) -> dict[str, Any]:
        """``DELETE /v1/test_helpers/test_clocks/{id}``: its customers go with it."""
        self.retrieve_clock(clock_id)
        for customer in list(self.collections["customers"].values()):
            if customer.get("test_clock") == clock_id and not customer.get("deleted"):
                self.delete_customer(customer["id"])
        del self.collections["test_clocks"][clock_id]
        return {"id": clock_id, "object": "test_helpers.test_clock", "deleted": True}

    def advance_clock(self, clock_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/test_helpers/test_clocks/{id}/advance``: run what happens until then."""
        clock = self.retrieve_clock(clock_id)
        target = to_int(params.get("frozen_time"), "frozen_time")
        if target <= clock["frozen_time"]:
            raise invalid(
                "The frozen_time must be after the test clock's current frozen_time.",
                "frozen_time",
            )
        try:
            while True:
                due = self._next_due(clock_id)
                if due is None or due[0] > target:
                    break
                at, subscription = due
                self.frozen_now = at
                self._run_due(subscription)
            clock["frozen_time"] = target
        finally:
            self.frozen_now = None
        self.emit("test_helpers.test_clock.ready", clock)
        return clock

    # ---- control -------------------------------------------------------------------
    def set_payment_failing(self, customer_id: str, failing: bool) -> None:
        """Make the customer's charges fail (``True``) or succeed again."""
        customer = self.live_customer(customer_id, "id")
        customer["invoice_settings"] = {
            "default_payment_method": "pm_card_chargeCustomerFail" if failing else "pm_card_visa"
        }

    def complete_checkout(self, session_id: str) -> dict[str, Any]:
        """Pay a Checkout session, at its customer's clock time when it has one."""
        session = self.find("checkout_sessions", session_id, "checkout session")
        with self._at_clock_of(session.get("customer")):
            subscription = super().complete_checkout(session_id)
        customer = self.collections["customers"].get(subscription["customer"]) or {}
        subscription["test_clock"] = customer.get("test_clock")
        return subscription

    # ---- internals -----------------------------------------------------------------
    @contextmanager
    def _at_clock_of(self, customer_id: str | None) -> Iterator[None]:
        customer = self.collections["customers"].get(customer_id or "") or {}
        clock = self.collections["test_clocks"].get(customer.get("test_clock") or "")
        if clock is None:
            yield
            return
        self.frozen_now = clock["frozen_time"]
        try:
            yield
        finally:
            self.frozen_now = None

    def _clock_subscriptions(self, clock_id: str) -> list[dict[str, Any]]:
        return [
            sub
            for sub in self.collections["subscriptions"].values()
            if sub["status"] in LIVE_STATUSES
            and (self.collections["customers"].get(sub["customer"]) or {}).get("test_clock")
            == clock_id
        ]

    def _next_due(self, clock_id: str) -> tuple[int, dict[str, Any]] | None:
        """The earliest moment something happens to a subscription on the clock."""
        moments: list[tuple[int, str, dict[str, Any]]] = []
        for sub in self._clock_subscriptions(clock_id):
            if sub["status"] == "past_due":
                invoice = self.collections["invoices"].get(sub["latest_invoice"] or "")
                if invoice is not None and invoice["next_payment_attempt"] is not None:
                    moments.append((invoice["next_payment_attempt"], sub["id"], sub))
            elif sub["status"] in ("active", "trialing"):
                end = sub["items"]["data"][0]["current_period_end"]
                moments.append((end, sub["id"], sub))
        if not moments:
            return None
        at, _, sub = min(moments, key=lambda m: (m[0], m[1]))
        return at, sub

    def _fails(self, customer_id: str) -> bool:
        customer = self.collections["customers"].get(customer_id) or {}
        method = (customer.get("invoice_settings") or {}).get("default_payment_method")
        return method in FAILING_PAYMENT_METHODS

    def _run_due(self, sub: dict[str, Any]) -> None:
        if sub["status"] == "past_due":
            self._retry(sub)
        elif sub["cancel_at_period_end"]:
            self.cancel_subscription(sub["id"])
        elif self._fails(sub["customer"]):
            self._renew_unpaid(sub)
        else:
            self.renew(sub["id"])

    def _renew_unpaid(self, sub: dict[str, Any]) -> None:
        """The period ends and its renewal charge fails: past due, retried later."""
        previous = {"status": sub["status"], "items": copy.deepcopy(sub["items"])}
        for item in sub["items"]["data"]:
            start = item["current_period_end"]
            item.update(
                current_period_start=start, current_period_end=start + _period(item["price"])
            )
        sub["status"] = "active"  # the invoice is billed for the new period
        invoice = self._invoice(sub, paid=False)
        invoice["next_payment_attempt"] = self.now() + RETRY_DAYS[0] * DAY
        sub["status"] = "past_due"
        self.emit("invoice.payment_failed", invoice)
        self.emit("customer.subscription.updated", sub, previous)

    def _retry(self, sub: dict[str, Any]) -> None:
        """A scheduled retry of the open renewal invoice."""
        invoice = self.collections["invoices"][sub["latest_invoice"]]
        invoice["attempt_count"] += 1
        if not self._fails(sub["customer"]):
            invoice.update(status="paid", amount_paid=invoice["amount_due"])
            invoice["next_payment_attempt"] = None
            self.emit("invoice.paid", invoice)
            previous = {"status": sub["status"]}
            sub["status"] = "active"
            self.emit("customer.subscription.updated", sub, previous)
            return
        retries_done = invoice["attempt_count"] - 1
        if retries_done >= len(RETRY_DAYS):
            invoice["next_payment_attempt"] = None
            self.emit("invoice.payment_failed", invoice)
            self.cancel_subscription(sub["id"])  # Stripe's default after the last retry
            return
        invoice["next_payment_attempt"] = self.now() + RETRY_DAYS[retries_done] * DAY
        self.emit("invoice.payment_failed", invoice)

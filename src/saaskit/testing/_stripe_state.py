"""The fake Stripe's resources: customers, products, prices, Checkout and portal sessions.

Subscriptions, invoices and their lifecycle live in :mod:`saaskit.testing._stripe_billing`.
"""

from __future__ import annotations

import copy
from typing import Any

from saaskit.testing._stripe_objects import (
    ObjectStore,
    StripeFailure,
    invalid,
    list_of,
    missing,
    to_bool,
    to_int,
)


def _metadata(params: dict[str, Any], current: dict[str, str] | None = None) -> dict[str, str]:
    merged = dict(current or {})
    for key, value in (params.get("metadata") or {}).items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return merged


class CatalogState(ObjectStore):
    """Customers, products, prices and sessions."""

    base_url = "http://127.0.0.1"

    # ---- customers ---------------------------------------------------------------
    def create_customer(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = {
            "id": self.new_id("cus"),
            "object": "customer",
            "created": self.now(),
            "email": params.get("email") or None,
            "name": params.get("name") or None,
            "metadata": _metadata(params),
            "livemode": False,
            "test_clock": None,
            "invoice_settings": {"default_payment_method": params.get("payment_method")},
        }
        clock = params.get("test_clock")
        if clock:
            self.find("test_clocks", str(clock), "test_clock", "test_clock")
            customer["test_clock"] = str(clock)
        self.put(customer)
        self.emit("customer.created", customer)
        return customer

    adopt_unknown_customers = False
    """Answer an unknown ``cus_...`` id as an existing customer (created then): for a fake
    that restarted while the app's database kept the ids an earlier run gave out."""

    def _adopt(self, customer_id: str) -> None:
        if (
            self.adopt_unknown_customers
            and customer_id.startswith("cus_")
            and customer_id not in self.collections["customers"]
        ):
            self.put(
                {
                    "id": customer_id,
                    "object": "customer",
                    "created": self.now(),
                    "email": None,
                    "name": None,
                    "metadata": {},
                    "livemode": False,
                    "test_clock": None,
                    "invoice_settings": {"default_payment_method": None},
                }
            )

    def retrieve_customer(self, customer_id: str) -> dict[str, Any]:
        self._adopt(customer_id)
        customer = self.find("customers", customer_id, "customer")
        if customer.get("deleted"):
            return {"id": customer_id, "object": "customer", "deleted": True}
        return customer

    def live_customer(self, customer_id: str, param: str = "customer") -> dict[str, Any]:
        self._adopt(customer_id)
        customer = self.collections["customers"].get(customer_id)
        if customer is None or customer.get("deleted"):
            raise missing("customer", customer_id, param)
        return customer

    def update_customer(self, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
        customer = self.live_customer(customer_id, "id")
        previous: dict[str, Any] = {
            k: customer.get(k) for k in ("email", "name", "metadata") if k in params
        }
        for key in ("email", "name"):
            if key in params:
                customer[key] = params[key] or None
        settings = params.get("invoice_settings")
        if isinstance(settings, dict) and "default_payment_method" in settings:
            customer["invoice_settings"] = {
                "default_payment_method": settings["default_payment_method"] or None
            }
        customer["metadata"] = _metadata(params, customer["metadata"])
        self.emit("customer.updated", customer, previous)
        return customer

    def list_customers(self, params: dict[str, Any]) -> dict[str, Any]:
        items = [
            c
            for c in self.collections["customers"].values()
            if not c.get("deleted") and (not params.get("email") or c["email"] == params["email"])
        ]
        items.sort(key=lambda c: c["created"])
        items.reverse()  # newest first; the same second: the later one first
        return list_of(items, "/v1/customers", params)

    # ---- products and prices -----------------------------------------------------
    def create_product(self, name: str) -> dict[str, Any]:
        product = {
            "id": self.new_id("prod"),
            "object": "product",
            "active": True,
            "name": name,
            "created": self.now(),
            "livemode": False,
        }
        return self.put(product)

    def create_price(self, params: dict[str, Any]) -> dict[str, Any]:
        product = params.get("product")
        if isinstance(product, str):
            self.find("products", product, "product", "product")
        else:
            name = (params.get("product_data") or {}).get("name") or "Product"
            product = self.create_product(name)["id"]
        lookup_key = params.get("lookup_key") or None
        if lookup_key:
            for other in self.collections["prices"].values():
                if other["lookup_key"] == lookup_key:
                    if not to_bool(params.get("transfer_lookup_key")):
                        raise invalid(f"A price with lookup key {lookup_key} exists.", "lookup_key")
                    other["lookup_key"] = None
        recurring = params.get("recurring")
        price = {
            "id": params.get("id") or self.new_id("price"),
            "object": "price",
            "active": True,
            "currency": params.get("currency") or "usd",
            "lookup_key": lookup_key,
            "product": product,
            "unit_amount": to_int(params.get("unit_amount"), "unit_amount", 0),
            "recurring": None
            if not recurring
            else {
                "interval": recurring.get("interval") or "month",
                "interval_count": to_int(recurring.get("interval_count"), "interval_count", 1),
                "usage_type": "licensed",
            },
            "type": "recurring" if recurring else "one_time",
            "created": self.now(),
            "livemode": False,
        }
        return self.put(price)

    def list_prices(self, params: dict[str, Any]) -> dict[str, Any]:
        keys = params.get("lookup_keys")
        items = [
            p
            for p in self.collections["prices"].values()
            if (keys is None or p["lookup_key"] in keys)
            and ("active" not in params or p["active"] == to_bool(params["active"]))
        ]
        return list_of(items, "/v1/prices", params)

    def price_for(self, ref: str, param: str) -> dict[str, Any]:
        """A price by id or lookup key (as the fake's control methods accept)."""
        price = self.collections["prices"].get(ref)
        if price is None:
            price = next(
                (p for p in self.collections["prices"].values() if p["lookup_key"] == ref), None
            )
        if price is None:
            raise missing("price", ref, param)
        return price

    # ---- Checkout and the customer portal -----------------------------------------
    def create_checkout_session(self, params: dict[str, Any]) -> dict[str, Any]:
        mode = params.get("mode")
        if mode not in ("subscription", "payment", "setup"):
            raise invalid("Invalid mode: must be one of payment, setup, or subscription", "mode")
        for url_param in ("success_url",):
            if not str(params.get(url_param) or "").startswith(("http://", "https://")):
                raise invalid(f"Not a valid URL: {url_param}", url_param)
        customer = params.get("customer")
        if customer:
            self.live_customer(customer)
        line_items = params.get("line_items") or []
        if mode != "setup" and not line_items:
            raise StripeFailure(
                400,
                "Missing required param: line_items.",
                code="parameter_missing",
                param="line_items",
            )
        items = []
        recurring = False
        for index, item in enumerate(line_items):
            param = f"line_items[{index}][price]"
            price = self.collections["prices"].get(str(item.get("price")))
            if price is None:
                raise missing("price", str(item.get("price")), param)
            if not price["active"]:
                raise invalid(f"The price specified is inactive: '{price['id']}'", param)
            quantity = to_int(item.get("quantity"), f"line_items[{index}][quantity]", 1)
            items.append({"price": price["id"], "quantity": quantity})
            recurring = recurring or bool(price["recurring"])
        if mode == "subscription" and not recurring:
            raise invalid(
                "You must provide at least one recurring price in `subscription` mode when "
                "using prices.",
                "line_items",
            )
        if params.get("allow_promotion_codes") and params.get("discounts"):
            raise invalid(
                "You may only specify one of these parameters: allow_promotion_codes, discounts.",
                "allow_promotion_codes",
            )
        session_id = self.new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": mode,
            "status": "open",
            "payment_status": "unpaid",
            "customer": customer or None,
            "customer_email": params.get("customer_email"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": _metadata(params),
            "subscription": None,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.base_url}/c/pay/{session_id}",
            "created": self.now(),
            "expires_at": self.now() + 86400,
            "livemode": False,
            "allow_promotion_codes": to_bool(params["allow_promotion_codes"])
            if "allow_promotion_codes" in params
            else None,
            "automatic_tax": {
                "enabled": to_bool((params.get("automatic_tax") or {}).get("enabled", False))
            },
            "tax_id_collection": {
                "enabled": to_bool((params.get("tax_id_collection") or {}).get("enabled", False))
            },
            "billing_address_collection": params.get("billing_address_collection"),
            # kept for completion; real Stripe returns them only when expanded
            "_line_items": items,
            "_subscription_data": copy.deepcopy(params.get("subscription_data") or {}),
        }
        self.put(session)
        return session

    def list_checkout_sessions(self, params: dict[str, Any]) -> dict[str, Any]:
        """``GET /v1/checkout/sessions`` by ``customer`` and ``status``, newest first."""
        items = [
            public(c)
            for c in self.collections["checkout_sessions"].values()
            if (not params.get("customer") or c["customer"] == params["customer"])
            and (not params.get("status") or c["status"] == params["status"])
        ]
        items.sort(key=lambda c: c["created"], reverse=True)
        return list_of(items, "/v1/checkout/sessions", params)

    def expire_checkout_session(self, session_id: str) -> dict[str, Any]:
        """``POST /v1/checkout/sessions/{id}/expire``: an open session can no longer be paid."""
        session = self.find("checkout_sessions", session_id, "checkout session")
        if session["status"] != "open":
            raise invalid(
                f'Only Checkout Sessions with a status in ["open"] can be expired. '
                f'This Checkout Session has a status of "{session["status"]}".'
            )
        session["status"] = "expired"
        self.emit("checkout.session.expired", session)
        return session

    def create_portal_session(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = str(params.get("customer") or "")
        if not customer:
            raise StripeFailure(
                400,
                "Missing required param: customer.",
                code="parameter_missing",
                param="customer",
            )
        self.live_customer(customer)
        session_id = self.new_id("bps")
        session = {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": params.get("return_url"),
            "url": f"{self.base_url}/p/session/{session_id}",
            "created": self.now(),
            "livemode": False,
        }
        return self.put(session)


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without the fake's private ``_fields``."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}

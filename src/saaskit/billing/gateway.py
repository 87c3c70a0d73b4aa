"""The billing gateway: everything saaskit asks of Stripe, behind a small protocol.

:class:`StripeGateway` talks to Stripe with the official SDK's ``StripeClient`` (async
methods over httpx), the API version pinned in settings. Stripe errors become saaskit
errors: :class:`~saaskit.exceptions.BillingUnavailable` (503: network, Stripe 5xx, rate
limits, a refused key) or :class:`~saaskit.exceptions.BillingRejected` (502: Stripe
refused the request). The secret key is never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from saaskit.billing.types import (
    ChangePreview,
    CheckoutRequest,
    CheckoutSession,
    Invoice,
    InvoiceLine,
    InvoicePage,
    Price,
    RemoteCustomer,
    RemoteSubscription,
)
from saaskit.exceptions import BillingRejected, BillingUnavailable, require_module
from saaskit.observability.tracing import span
from saaskit.owners import Owner
from saaskit.settings import BillingSettings

if TYPE_CHECKING:
    import stripe

logger = logging.getLogger("saaskit.billing")

ENDED_STATUSES = frozenset({"canceled", "incomplete_expired"})
"""Statuses of a subscription that is over (nothing to cancel)."""


class BillingGateway(Protocol):
    """What the billing services need from a payment provider."""

    async def create_customer(
        self,
        *,
        email: str,
        name: str | None,
        idempotency_key: str,
        owner: Owner | None = None,
        user_id: int | None = None,
    ) -> str:
        """Create a customer tagged with its owner (:func:`owner_metadata`); returns its id.

        ``user_id`` is the pre-owner spelling of ``owner=Owner.user(user_id)``.
        """
        ...

    async def get_customer(self, customer_id: str) -> RemoteCustomer | None:
        """The customer ``customer_id`` (deleted ones flagged), ``None`` if Stripe has none."""
        ...

    async def update_customer_email(self, customer_id: str, email: str) -> None:
        """Set the customer's email (receipts and invoices go there)."""
        ...

    async def get_prices(self, refs: Sequence[str]) -> dict[str, Price]:
        """Prices by id (``price_...``) or lookup key, keyed by the ref asked for."""
        ...

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        """A Checkout session for ``request``; returns its id and URL."""
        ...

    async def create_portal_session(self, customer_id: str, return_url: str) -> str:
        """A customer-portal session; returns its URL."""
        ...

    async def get_subscription(self, subscription_id: str) -> RemoteSubscription | None:
        """The subscription ``subscription_id``, ``None`` if Stripe has none."""
        ...

    async def list_subscriptions(self, customer_id: str) -> list[RemoteSubscription]:
        """Every subscription of the customer, ended ones included."""
        ...

    async def preview_price_change(
        self, subscription_id: str, price_id: str, *, proration_date: int, proration_behavior: str
    ) -> ChangePreview:
        """The invoice preview of moving the subscription to ``price_id``."""
        ...

    async def change_price(
        self,
        subscription_id: str,
        price_id: str,
        *,
        proration_date: int,
        proration_behavior: str,
        metadata: Mapping[str, str],
    ) -> RemoteSubscription:
        """Move the subscription to ``price_id``, prorated as of ``proration_date``."""
        ...

    async def set_cancel_at_period_end(
        self, subscription_id: str, cancel: bool
    ) -> RemoteSubscription:
        """Cancel the subscription at its period's end (``cancel``), or resume it."""
        ...

    async def list_invoices(
        self, customer_id: str, *, limit: int, starting_after: str | None
    ) -> InvoicePage:
        """A page of the customer's invoices, newest first."""
        ...

    async def list_events(
        self, *, created_after: int, types: Sequence[str], max_events: int
    ) -> list[dict[str, Any]]:
        """Events created after ``created_after`` (a Unix time) of ``types``, newest first."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP client's connections."""
        ...


def owner_metadata(owner: Owner | None = None, user_id: int | None = None) -> dict[str, str]:
    """Stripe metadata naming an owner.

    ``user_id`` for a user (what kits before billing owners wrote and read), else ``owner_kind``
    and ``owner_id``.
    """
    if owner is None:
        if user_id is None:
            raise TypeError("create_customer needs owner= (or user_id=)")
        owner = Owner.user(user_id)
    if owner.kind == "user":  # as before owners: older instances read it back
        return {"user_id": str(owner.id)}
    return {"owner_kind": owner.kind, "owner_id": str(owner.id)}


def is_price_id(ref: str) -> bool:
    """Whether ``ref`` is a Stripe price id (``price_...``) rather than a lookup key."""
    return ref.startswith("price_")


def _ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def _id(value: Any) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the object."""
    if isinstance(value, Mapping):
        found = value.get("id")
        return str(found) if found else None
    return str(value) if value else None


def price_from_data(data: Mapping[str, Any]) -> Price:
    """A :class:`Price` from Stripe's price object (expanded product included)."""
    recurring = data.get("recurring") or {}
    product = data.get("product")
    return Price(
        id=str(data["id"]),
        lookup_key=data.get("lookup_key"),
        unit_amount=data.get("unit_amount"),
        currency=str(data.get("currency") or "usd"),
        interval=recurring.get("interval"),
        interval_count=int(recurring.get("interval_count") or 1),
        product_name=product.get("name") if isinstance(product, Mapping) else None,
        active=bool(data.get("active", True)),
    )


def subscription_from_data(data: Mapping[str, Any]) -> RemoteSubscription:
    """Read a Stripe subscription (API versions before and after items carried periods)."""
    items = (data.get("items") or {}).get("data") or []
    first: Mapping[str, Any] = items[0] if items else {}
    price: Mapping[str, Any] = first.get("price") or {}
    period_end = first.get("current_period_end") or data.get("current_period_end")
    return RemoteSubscription(
        id=str(data["id"]),
        customer_id=_id(data.get("customer")) or "",
        status=str(data.get("status") or "incomplete"),
        price_id=price.get("id"),
        price_lookup_key=price.get("lookup_key"),
        quantity=int(first.get("quantity") or data.get("quantity") or 1),
        trial_end=_ts(data.get("trial_end")),
        current_period_end=_ts(period_end),
        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
        canceled_at=_ts(data.get("canceled_at")),
        ended_at=_ts(data.get("ended_at")),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
    )


def _is_proration(line: Mapping[str, Any]) -> bool:
    # Newer API versions say it under parent.*_details.proration; older ones at the top.
    if "proration" in line:
        return bool(line["proration"])
    parent = line.get("parent") or {}
    details = parent.get("subscription_item_details") or parent.get("invoice_item_details") or {}
    return bool(details.get("proration"))


def invoice_from_data(data: Mapping[str, Any]) -> Invoice:
    """Read a Stripe invoice."""
    return Invoice(
        id=str(data["id"]),
        number=data.get("number"),
        status=data.get("status"),
        total=int(data.get("total") or 0),
        amount_due=int(data.get("amount_due") or 0),
        currency=str(data.get("currency") or ""),
        created=_ts(data.get("created")),
        hosted_invoice_url=data.get("hosted_invoice_url"),
        invoice_pdf=data.get("invoice_pdf"),
        period_start=_ts(data.get("period_start")),
        period_end=_ts(data.get("period_end")),
    )


class StripeGateway:
    """:class:`BillingGateway` on Stripe (``saaskit[stripe]``).

    Example:
        ```python
        gateway = StripeGateway(settings.billing)
        customer_id = await gateway.create_customer(
            email="a@example.com",
            name=None,
            owner=Owner.user(1),
            idempotency_key="saaskit-customer-1-0",
        )
        ```
    """

    def __init__(self, settings: BillingSettings) -> None:
        require_module("stripe", "stripe")
        import stripe

        if settings.secret_key is None:
            raise ValueError("StripeGateway needs settings.billing.secret_key")
        from saaskit.billing.http import build_http_client

        self._stripe = stripe
        self._http = build_http_client(settings.timeout_seconds)
        self.client = stripe.StripeClient(
            settings.secret_key.get_secret_value(),
            stripe_version=settings.api_version,
            base_addresses={"api": settings.api_base.rstrip("/")},
            max_network_retries=settings.max_network_retries,
            http_client=self._http,
        )

    @contextmanager
    def _errors(self, action: str, *, missing_ok: bool = False) -> Iterator[list[bool]]:
        """Translate Stripe errors; with ``missing_ok`` a 404 sets the yielded flag."""
        stripe = self._stripe
        missing: list[bool] = []
        try:
            with span(f"stripe {action}", {"saaskit.stripe.action": action}):
                yield missing
        except stripe.InvalidRequestError as error:
            if missing_ok and error.code == "resource_missing":
                missing.append(True)
                return
            _log(action, error, logging.WARNING)
            raise BillingRejected() from error
        except (stripe.IdempotencyError, stripe.CardError) as error:
            _log(action, error, logging.WARNING)
            raise BillingRejected() from error
        except (stripe.AuthenticationError, stripe.PermissionError) as error:
            _log(action, error, logging.ERROR, hint="check SAASKIT_BILLING__SECRET_KEY")
            raise BillingUnavailable() from error
        except stripe.StripeError as error:
            _log(action, error, logging.WARNING)
            raise BillingUnavailable() from error

    async def create_customer(
        self,
        *,
        email: str,
        name: str | None,
        idempotency_key: str,
        owner: Owner | None = None,
        user_id: int | None = None,
    ) -> str:
        """Create a customer tagged with its owner, under ``idempotency_key``; returns its id."""
        params: dict[str, Any] = {"email": email, "metadata": owner_metadata(owner, user_id)}
        if name:
            params["name"] = name
        with self._errors("create customer"):
            customer = await self.client.v1.customers.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        return str(customer.id)

    async def get_customer(self, customer_id: str) -> RemoteCustomer | None:
        """Retrieve the customer ``customer_id`` (``None`` if Stripe has none)."""
        with self._errors("retrieve customer", missing_ok=True) as missing:
            customer = await self.client.v1.customers.retrieve_async(customer_id)
        if missing:
            return None
        data = customer.to_dict()
        return RemoteCustomer(
            id=str(data["id"]),
            deleted=bool(data.get("deleted")),
            email=data.get("email"),
            metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        )

    async def update_customer_email(self, customer_id: str, email: str) -> None:
        """Set the customer's email (an update with the same value changes nothing)."""
        with self._errors("update customer"):
            await self.client.v1.customers.update_async(customer_id, {"email": email})

    async def delete_customer(self, customer_id: str) -> bool:
        """Delete the customer in Stripe (account erasure); its subscriptions end with it.

        Safe to repeat: a customer Stripe no longer has is not an error.

        Returns:
            Whether Stripe had the customer (``False``: already gone).

        Raises:
            BillingUnavailable: Stripe could not be reached (call again).
        """
        with self._errors("delete customer", missing_ok=True) as missing:
            await self.client.v1.customers.delete_async(customer_id)
        return not missing

    async def get_prices(self, refs: Sequence[str]) -> dict[str, Price]:
        """Prices by id or lookup key (lookup keys in one list call), keyed by the ref asked for."""
        found: dict[str, Price] = {}
        ids = [ref for ref in refs if is_price_id(ref)]
        keys = [ref for ref in refs if not is_price_id(ref)]
        for price_id in ids:
            with self._errors("retrieve price", missing_ok=True) as missing:
                obj = await self.client.v1.prices.retrieve_async(price_id, {"expand": ["product"]})
            if not missing:
                found[price_id] = price_from_data(obj.to_dict())
        if keys:
            with self._errors("list prices"):
                page = await self.client.v1.prices.list_async(
                    {"lookup_keys": keys, "active": True, "expand": ["data.product"], "limit": 100}
                )
            for obj in page.data:
                price = price_from_data(obj.to_dict())
                if price.lookup_key:
                    found[price.lookup_key] = price
        return found

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        """Create a subscription Checkout session, its owner in the metadata."""
        metadata = {**owner_metadata(request.owner, request.user_id), "plan": request.plan}
        subscription_data: dict[str, Any] = {"metadata": metadata}
        if request.trial_days:
            subscription_data["trial_period_days"] = request.trial_days
        params: dict[str, Any] = {
            "mode": "subscription",
            "customer": request.customer_id,
            "client_reference_id": request.reference,
            "line_items": [{"price": request.price_id, "quantity": request.quantity}],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "metadata": metadata,
            "subscription_data": subscription_data,
            "billing_address_collection": request.billing_address_collection,
        }
        if request.allow_promotion_codes:
            params["allow_promotion_codes"] = True
        customer_update: dict[str, str] = {}
        if request.automatic_tax:
            # Tax needs the customer's address: Checkout asks for it and saves it.
            params["automatic_tax"] = {"enabled": True}
            customer_update["address"] = "auto"
        if request.tax_id_collection:
            # The tax ID is saved on the customer, with the business name it belongs to.
            params["tax_id_collection"] = {"enabled": True}
            customer_update["name"] = "auto"
        if customer_update:
            params["customer_update"] = customer_update
        with self._errors("create checkout session"):
            session = await self.client.v1.checkout.sessions.create_async(params)  # type: ignore[arg-type]
        return CheckoutSession(id=str(session.id), url=str(session.url))

    async def create_portal_session(self, customer_id: str, return_url: str) -> str:
        """Create a customer-portal session; returns its URL."""
        with self._errors("create portal session"):
            session = await self.client.v1.billing_portal.sessions.create_async(
                {"customer": customer_id, "return_url": return_url}
            )
        return str(session.url)

    async def get_subscription(self, subscription_id: str) -> RemoteSubscription | None:
        """Retrieve the subscription ``subscription_id`` (``None`` if Stripe has none)."""
        with self._errors("retrieve subscription", missing_ok=True) as missing:
            obj = await self.client.v1.subscriptions.retrieve_async(subscription_id)
        if missing:
            return None
        return subscription_from_data(obj.to_dict())

    async def list_subscriptions(self, customer_id: str) -> list[RemoteSubscription]:
        """Every subscription of the customer, ended ones included."""
        with self._errors("list subscriptions"):
            page = await self.client.v1.subscriptions.list_async(
                {"customer": customer_id, "status": "all", "limit": 100}
            )
        return [subscription_from_data(obj.to_dict()) for obj in page.data]

    async def set_quantity(
        self, subscription_id: str, quantity: int, *, proration_behavior: str
    ) -> bool:
        """Set the absolute quantity of the subscription's (single) item (per-seat plans).

        The ``customer.subscription.updated`` webhook that follows updates the local row.

        Returns:
            Whether an update was sent (``False``: the quantity was already right).
        """
        with self._errors("update subscription quantity"):
            obj = await self.client.v1.subscriptions.retrieve_async(subscription_id)
            item = obj.to_dict()["items"]["data"][0]
            if int(item.get("quantity") or 0) == quantity:
                return False
            await self.client.v1.subscriptions.update_async(
                subscription_id,
                {
                    "items": [{"id": str(item["id"]), "quantity": quantity}],
                    "proration_behavior": proration_behavior,
                },
            )
        return True

    async def expire_open_checkouts(self, customer_id: str) -> list[str]:
        """Expire the customer's open Checkout sessions: none can start a subscription now.

        Used before the owner is deleted. A session completed meanwhile cannot be
        expired; that is not an error (its subscription is there to be found).

        Returns:
            The ids of the sessions expired.
        """
        sdk = self._stripe
        with self._errors("list checkout sessions"):
            page = await self.client.v1.checkout.sessions.list_async(
                {"customer": customer_id, "status": "open", "limit": 100}
            )
        expired: list[str] = []
        for session in page.data:
            with self._errors("expire checkout session"):
                try:
                    await self.client.v1.checkout.sessions.expire_async(str(session.id))
                except sdk.InvalidRequestError as error:
                    logger.info("checkout session %s not expired: %s", session.id, error.code)
                    continue
            expired.append(str(session.id))
        return expired

    async def cancel_subscription(
        self, subscription_id: str, *, idempotency_key: str
    ) -> RemoteSubscription | None:
        """Cancel the subscription now (not at the period's end).

        Safe to repeat: Stripe treats ``DELETE`` as idempotent (the key goes along for
        the SDK's own retries), and a subscription that is already canceled is answered
        with its current state instead of an error. Stripe sends
        ``customer.subscription.deleted``, which updates the local row.

        Returns:
            The subscription as Stripe has it now; ``None`` if Stripe has no such
            subscription.

        Raises:
            BillingUnavailable: Stripe could not be reached (nothing was canceled, or the
                outcome is unknown: call again).
            BillingRejected: Stripe refused, and the subscription is not canceled.
        """
        sdk = self._stripe
        refused: stripe.InvalidRequestError | None = None
        with self._errors("cancel subscription", missing_ok=True) as missing:
            try:
                obj = await self.client.v1.subscriptions.cancel_async(
                    subscription_id, options={"idempotency_key": idempotency_key}
                )
            except sdk.InvalidRequestError as error:
                if error.code == "resource_missing":
                    raise
                refused = error
        if missing:
            return None
        if refused is None:
            return subscription_from_data(obj.to_dict())
        # Refused: already canceled (a retry), or a real refusal.
        current = await self.get_subscription(subscription_id)
        if current is not None and current.status in ENDED_STATUSES:
            return current
        _log("cancel subscription", refused, logging.WARNING)
        raise BillingRejected() from refused

    async def preview_price_change(
        self, subscription_id: str, price_id: str, *, proration_date: int, proration_behavior: str
    ) -> ChangePreview:
        """Stripe's invoice preview of moving the subscription to ``price_id``."""
        with self._errors("preview subscription change"):
            sub = (await self.client.v1.subscriptions.retrieve_async(subscription_id)).to_dict()
            item = sub["items"]["data"][0]
            preview = await self.client.v1.invoices.create_preview_async(
                {
                    "customer": str(_id(sub.get("customer"))),
                    "subscription": subscription_id,
                    "subscription_details": {
                        "items": [{"id": str(item["id"]), "price": price_id}],
                        "proration_date": proration_date,
                        "proration_behavior": proration_behavior,
                    },
                }
            )
        data = preview.to_dict()
        lines = ((data.get("lines") or {}).get("data")) or []
        return ChangePreview(
            amount_due=int(data.get("amount_due") or 0),
            total=int(data.get("total") or 0),
            currency=str(data.get("currency") or ""),
            proration_date=datetime.fromtimestamp(proration_date, UTC),
            lines=tuple(
                InvoiceLine(
                    description=str(line.get("description") or ""),
                    amount=int(line.get("amount") or 0),
                    proration=_is_proration(line),
                )
                for line in lines
            ),
        )

    async def change_price(
        self,
        subscription_id: str,
        price_id: str,
        *,
        proration_date: int,
        proration_behavior: str,
        metadata: Mapping[str, str],
    ) -> RemoteSubscription:
        """Move the subscription's (single) item to ``price_id``, prorated as of that date.

        Idempotent: the key names the subscription, the price and the proration date.
        """
        key = f"saaskit-change:{subscription_id}:{price_id}:{proration_date}"
        with self._errors("change subscription price"):
            sub = (await self.client.v1.subscriptions.retrieve_async(subscription_id)).to_dict()
            item = sub["items"]["data"][0]
            updated = await self.client.v1.subscriptions.update_async(
                subscription_id,
                {
                    "items": [{"id": str(item["id"]), "price": price_id}],
                    "proration_behavior": proration_behavior,
                    "proration_date": proration_date,
                    "metadata": dict(metadata),
                },
                {"idempotency_key": key},
            )
        return subscription_from_data(updated.to_dict())

    async def set_cancel_at_period_end(
        self, subscription_id: str, cancel: bool
    ) -> RemoteSubscription:
        """Cancel the subscription at the end of its period (``cancel``), or resume it."""
        action = "cancel subscription at period end" if cancel else "resume subscription"
        with self._errors(action):
            updated = await self.client.v1.subscriptions.update_async(
                subscription_id, {"cancel_at_period_end": cancel}
            )
        return subscription_from_data(updated.to_dict())

    async def list_invoices(
        self, customer_id: str, *, limit: int, starting_after: str | None
    ) -> InvoicePage:
        """A page of the customer's invoices, newest first (an unknown cursor: empty)."""
        params: dict[str, Any] = {"customer": customer_id, "limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        with self._errors("list invoices", missing_ok=True) as missing:
            page = await self.client.v1.invoices.list_async(params)  # type: ignore[arg-type]
        if missing:
            return InvoicePage(invoices=(), has_more=False)
        return InvoicePage(
            invoices=tuple(invoice_from_data(obj.to_dict()) for obj in page.data),
            has_more=bool(page.has_more),
        )

    async def list_events(
        self, *, created_after: int, types: Sequence[str], max_events: int
    ) -> list[dict[str, Any]]:
        """Events created after ``created_after`` of ``types`` (every page), newest first.

        Stripe keeps events for 30 days; at most ``max_events`` are read.
        """
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "created": {"gt": created_after},
            "types": list(types),
            "limit": 100,
        }
        with self._errors("list events"):
            while len(found) < max_events:
                page = await self.client.v1.events.list_async(params)  # type: ignore[arg-type]
                found += [event.to_dict() for event in page.data]
                if not page.has_more or not page.data:
                    break
                params["starting_after"] = page.data[-1].id
        return found[:max_events]

    async def send_meter_event(
        self, *, event_name: str, customer_id: str, value: int, identifier: str, timestamp: int
    ) -> bool:
        """Report ``value`` to the billing meter of ``event_name`` for ``customer_id``.

        ``identifier`` is also the idempotency key, so the SDK's own retries are safe.
        Stripe refuses an identifier it has already seen ("An event already exists with
        identifier ..."): the event was delivered by an earlier attempt, and this returns
        ``True`` (else ``False``).

        Raises:
            BillingUnavailable: Stripe could not be reached or failed (retry later).
            BillingRejected: Stripe refused the event.
        """
        stripe = self._stripe
        params: dict[str, Any] = {
            "event_name": event_name,
            "payload": {"stripe_customer_id": customer_id, "value": str(value)},
            "identifier": identifier,
            "timestamp": timestamp,
        }
        with self._errors("create meter event"):
            try:
                await self.client.v1.billing.meter_events.create_async(
                    params,  # type: ignore[arg-type]
                    {"idempotency_key": identifier},
                )
            except stripe.InvalidRequestError as error:
                if _already_sent(error):
                    return True
                raise
        return False

    async def aclose(self) -> None:
        """Close the HTTP client the SDK uses."""
        await self._http.close_async()  # type: ignore[no-untyped-call]


def _already_sent(error: stripe.StripeError) -> bool:
    # Stripe's answer to a repeated meter event identifier (400, not retryable).
    return "already exists with identifier" in str(error.user_message or "")


def _log(action: str, error: stripe.StripeError, level: int, *, hint: str = "") -> None:
    # Status, code, request id and Stripe's message help operators. Messages about the
    # key (which Stripe masks anyway) are left out, so no part of a key reaches the log.
    message = hint or str(error.user_message or "")
    logger.log(
        level,
        "stripe: %s failed: %s (status %s, code %s, request %s): %s",
        action,
        type(error).__name__,
        error.http_status,
        error.code,
        error.request_id,
        message,
    )

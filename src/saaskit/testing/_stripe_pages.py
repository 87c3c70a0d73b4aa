"""The fake Stripe's browser pages: Checkout, the customer portal and hosted invoices.

A Checkout session's ``url`` opens a page a person (or Playwright) can "pay": the Pay
button completes the session (its subscription starts), delivers the webhooks to the
forwarding URL when one is set, and redirects to the session's ``success_url``; the
cancel link goes to its ``cancel_url``. A session is paid once: a second Pay (another tab,
a replayed form) answers 409 and changes nothing.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from saaskit.testing._stripe_objects import StripeFailure

if TYPE_CHECKING:
    from saaskit.testing.fake_stripe import FakeStripe

PAGE_PREFIXES = ("/c/pay/", "/p/session/", "/i/")

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}"
    "table{width:100%;border-collapse:collapse}td{padding:.3rem 0}"
    "button{font-size:1.1rem;padding:.6rem 1.4rem}.note{color:#666;font-size:.9rem}"
)


@dataclass
class Page:
    """An answer of the pages: status, extra headers and an HTML body."""

    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def _document(title: str, content: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><p class="note">saaskit fake Stripe: test mode, no money moves.</p>'
        f"<h1>{html.escape(title)}</h1>{content}</body></html>"
    )


def _problem(status: int, title: str, message: str) -> Page:
    return Page(status, _document(title, f'<p role="alert">{html.escape(message)}</p>'))


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"


def handle_page(fake: FakeStripe, method: str, path: str) -> Page:
    """Answer a request for one of the pages (``path`` starts with a :data:`PAGE_PREFIXES`)."""
    if path.startswith("/c/pay/"):
        session_id = path.removeprefix("/c/pay/").strip("/")
        if method == "POST":
            return _pay(fake, session_id)
        if method == "GET":
            return _checkout_page(fake, session_id)
    elif path.startswith("/p/session/") and method == "GET":
        return _portal_page(fake, path.removeprefix("/p/session/").strip("/"))
    elif path.startswith("/i/") and method == "GET":
        return _invoice_page(fake, path.removeprefix("/i/").split("/")[0])
    return _problem(405 if method != "GET" else 404, "Not found", "There is no such page.")


def _checkout_page(fake: FakeStripe, session_id: str) -> Page:
    with fake.state.lock:
        session = fake.state.collections["checkout_sessions"].get(session_id)
        if session is None:
            return _problem(404, "Checkout", "This checkout session does not exist.")
        session = dict(session)
        customer = fake.state.collections["customers"].get(session.get("customer") or "") or {}
        rows = []
        for item in session["_line_items"]:
            price = fake.state.collections["prices"][item["price"]]
            product = fake.state.collections["products"].get(price["product"]) or {}
            interval = (price.get("recurring") or {}).get("interval")
            every = f" / {interval}" if interval else ""
            rows.append(
                f"<tr><td>{html.escape(str(product.get('name') or price['id']))}"
                f" &times; {int(item['quantity'])}</td>"
                f'<td class="amount">{html.escape(_money(price["unit_amount"], price["currency"]))}'
                f"{html.escape(every)}</td></tr>"
            )
    email = customer.get("email") or session.get("customer_email") or ""
    trial = (session["_subscription_data"] or {}).get("trial_period_days")
    parts = [
        f"<p>{html.escape(str(email))}</p>" if email else "",
        f"<table>{''.join(rows)}</table>",
        f"<p>Free trial: {html.escape(str(trial))} days.</p>" if trial else "",
    ]
    if session["status"] != "open":
        parts.append(
            f'<p role="alert">This checkout session is {html.escape(session["status"])}.</p>'
        )
    else:
        action = f"/c/pay/{quote(session_id)}"
        parts.append(
            f'<form method="post" action="{html.escape(action)}">'
            '<button type="submit" id="pay">Pay</button></form>'
        )
        if session.get("cancel_url"):
            parts.append(
                f'<p><a id="cancel" href="{html.escape(str(session["cancel_url"]))}">'
                "Cancel and go back</a></p>"
            )
    return Page(200, _document("Checkout", "".join(parts)))


def _pay(fake: FakeStripe, session_id: str) -> Page:
    with fake.state.lock:
        session = fake.state.collections["checkout_sessions"].get(session_id)
        if session is None:
            return _problem(404, "Checkout", "This checkout session does not exist.")
        if session["status"] != "open":
            return _problem(
                409,
                "Checkout",
                f"This checkout session is {session['status']}: it cannot be paid again.",
            )
        try:
            if session["mode"] == "subscription":
                fake.state.complete_checkout(session_id)
            else:
                session.update(status="complete", payment_status="paid")
                fake.state.emit("checkout.session.completed", session)
        except StripeFailure as failure:
            return _problem(400, "Checkout", failure.message)
        success_url = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session_id)
    fake.flush_webhooks()  # the app knows of the subscription before the redirect lands
    return Page(303, "", {"Location": success_url})


def _portal_page(fake: FakeStripe, session_id: str) -> Page:
    with fake.state.lock:
        portal = fake.state.collections["portal_sessions"].get(session_id)
        if portal is None:
            return _problem(404, "Billing portal", "This portal session does not exist.")
        back = portal.get("return_url")
    link = f'<p><a id="return" href="{html.escape(str(back))}">Return</a></p>' if back else ""
    return Page(
        200,
        _document(
            "Billing portal",
            "<p>The fake has no portal: change the plan in the app, or with the fake's "
            "controls.</p>" + link,
        ),
    )


def _invoice_page(fake: FakeStripe, invoice_id: str) -> Page:
    with fake.state.lock:
        invoice: dict[str, Any] | None = fake.state.collections["invoices"].get(invoice_id)
        if invoice is None:
            return _problem(404, "Invoice", "This invoice does not exist.")
        invoice = dict(invoice)
    rows = (
        f"<p>Number: {html.escape(str(invoice['number']))}</p>"
        f"<p>Total: {html.escape(_money(invoice['total'], invoice['currency']))}</p>"
        f"<p>Status: {html.escape(str(invoice['status']))}</p>"
    )
    return Page(200, _document("Invoice", rows))

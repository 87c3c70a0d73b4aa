"""``saaskit fake-stripe``: the fake Stripe on a fixed local port, outside pytest."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from saaskit.cli.output import fail

if TYPE_CHECKING:
    from saaskit.testing.fake_stripe import FakeStripe

DEFAULT_PORT = 12111
FAKE_SECRET_KEY = "sk_test_saaskit_fake"


@dataclass(frozen=True)
class FakePrice:
    """A price the fake creates at start: ``lookup_key:amount[:interval[:currency]]``."""

    lookup_key: str
    unit_amount: int
    interval: str | None
    currency: str
    product: str

    @classmethod
    def parse(cls, text: str) -> FakePrice:
        """Read ``pro_monthly:2000:month:usd`` (interval ``once``: a one-time price)."""
        parts = text.split(":")
        if not 2 <= len(parts) <= 4 or not parts[0] or not parts[1].isdigit():
            raise ValueError(
                f"{text!r}: expected LOOKUP_KEY:AMOUNT_IN_CENTS[:INTERVAL[:CURRENCY]], "
                "e.g. pro_monthly:2000:month"
            )
        interval = parts[2] if len(parts) > 2 else "month"
        if interval not in ("day", "week", "month", "year", "once"):
            raise ValueError(f"{text!r}: the interval is one of day, week, month, year, once")
        product = parts[0].rsplit("_", 1)[0] if "_" in parts[0] else parts[0]
        return cls(
            lookup_key=parts[0],
            unit_amount=int(parts[1]),
            interval=None if interval == "once" else interval,
            currency=(parts[3] if len(parts) > 3 else "usd").lower(),
            product=product.capitalize(),
        )


DEMO_PRICES = (
    FakePrice("pro_monthly", 2000, "month", "usd", "Pro"),
    FakePrice("pro_yearly", 20000, "year", "usd", "Pro"),
    FakePrice("team_monthly", 5000, "month", "usd", "Team"),
    FakePrice("team_yearly", 50000, "year", "usd", "Team"),
)
"""The prices the fake starts with when none are given (and the demo's plans use)."""

DEMO_PLANS = {
    "pro": {"price": "pro_monthly", "prices": ["pro_yearly"], "features": ["reports"]},
    "team": {"price": "team_monthly", "prices": ["team_yearly"], "features": ["reports", "sso"]},
}
"""Plans over :data:`DEMO_PRICES`."""


def start_fake_stripe(
    *,
    port: int,
    prices: tuple[FakePrice, ...] = DEMO_PRICES,
    forward_to: str | None = None,
    webhook_secret: str | None = None,
    log: bool = True,
) -> FakeStripe:
    """Start the fake Stripe on ``127.0.0.1:port`` with ``prices`` (and forwarding).

    Exits with a message naming the extra when the Stripe SDK or httpx is missing.
    """
    from saaskit.cli.output import fail
    from saaskit.exceptions import MissingExtra, require_module

    try:
        for module in ("httpx", "stripe"):  # the fake's client side, the app's billing
            require_module(module, "stripe")
    except MissingExtra as error:
        fail(str(error), hint="pip install 'saaskit[stripe]', then run this again")
    # The fake lives in saaskit.testing (a layer above the CLI); this edge is the one
    # allowed exception (see [tool.importlinter] in pyproject.toml).
    from saaskit.testing.fake_stripe import FakeStripe

    fake = FakeStripe(api_key=FAKE_SECRET_KEY, webhook_secret=webhook_secret, port=port)
    # The app's database outlives the fake's memory: customers it created in an earlier
    # run are taken as existing, so their users can still check out.
    fake.state.adopt_unknown_customers = True
    fake.start()
    for price in prices:
        # The same id at every start: an app that cached a price id (price_cache_seconds, in
        # Redis) still finds it after the fake restarts.
        fake.add_price(
            price.lookup_key,
            price_id=f"price_{price.lookup_key}",
            unit_amount=price.unit_amount,
            currency=price.currency,
            interval=price.interval,
            product=price.product,
        )
    if forward_to:
        fake.forward_webhooks(forward_to, log=log)
    return fake


def environment(fake: FakeStripe) -> dict[str, str]:
    """The settings that point a saaskit app at ``fake``."""
    return {
        "SAASKIT_BILLING__ENABLED": "true",
        "SAASKIT_BILLING__API_BASE": fake.url,
        "SAASKIT_BILLING__SECRET_KEY": fake.api_key,
        "SAASKIT_BILLING__WEBHOOK_SECRET": fake.webhook_secret,
    }


def wait_for_termination() -> None:
    """Block until Ctrl+C or SIGTERM."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def fake_stripe(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 to listen on.")
    ] = DEFAULT_PORT,
    forward_to: Annotated[
        str | None,
        typer.Option(
            "--forward-to",
            help="The app's webhook endpoint, e.g. http://127.0.0.1:8000/api/v1/billing/webhook: "
            "every event is POSTed there, signed.",
            show_default=False,
        ),
    ] = None,
    price: Annotated[
        list[str] | None,
        typer.Option(
            "--price",
            help="A price to create, LOOKUP_KEY:AMOUNT_IN_CENTS[:INTERVAL[:CURRENCY]] "
            "(repeatable; default: pro_monthly, pro_yearly, team_monthly, team_yearly).",
            show_default=False,
        ),
    ] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            "--webhook-secret",
            envvar="SAASKIT_BILLING__WEBHOOK_SECRET",
            help="Sign webhooks with this whsec_... secret (default: a new random one).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve a fake Stripe on 127.0.0.1 for local development, without a Stripe account.

    It speaks Stripe's API to the real SDK (customers, prices, Checkout, subscriptions,
    invoices, meter events, test clocks), serves a checkout page you can "pay" in a
    browser, and forwards the webhooks to --forward-to. It listens on 127.0.0.1 only
    and never talks to Stripe. State lives in memory: it is gone when it stops.
    """
    try:
        prices = tuple(FakePrice.parse(p) for p in price) if price else DEMO_PRICES
    except ValueError as error:
        fail(str(error))
    if forward_to is not None and not forward_to.startswith(("http://", "https://")):
        fail(f"--forward-to {forward_to!r} is not an http(s) URL.")
    if webhook_secret is not None and not webhook_secret.startswith("whsec_"):
        fail("--webhook-secret must start with whsec_.")
    try:
        fake = start_fake_stripe(
            port=port, prices=prices, forward_to=forward_to, webhook_secret=webhook_secret
        )
    except OSError as error:
        fail(f"cannot listen on 127.0.0.1:{port}: {error.strerror or error}")
    try:
        typer.secho(f"Fake Stripe on {fake.url} (Ctrl+C to stop)", fg=typer.colors.GREEN)
        typer.echo("Point the app at it (.env or the environment):\n")
        for name, value in environment(fake).items():
            typer.echo(f"{name}={value}")
        keys = [p.lookup_key for p in prices]
        typer.echo(f"\nPrices (lookup keys): {', '.join(keys)}")
        if prices == DEMO_PRICES:
            typer.echo(f"SAASKIT_BILLING__PLANS='{json.dumps(DEMO_PLANS)}'")
        if forward_to:
            typer.echo(f"\nWebhooks go to {forward_to}")
        else:
            typer.echo("\nNo --forward-to: webhooks are not delivered.")
        wait_for_termination()
    finally:
        fake.stop()
        typer.echo("Fake Stripe stopped.")


def demo_environment(fake: FakeStripe, app_base: str) -> dict[str, str]:
    """Billing settings for ``saaskit demo --fake-stripe``: the fake, its plans, and pages.

    Every billing setting that could reach Stripe is set here, so none from ``.env`` or
    the environment (a real ``api_base`` or key) survives.
    """
    return {
        **environment(fake),
        "SAASKIT_BILLING__PLANS": json.dumps(DEMO_PLANS),
        "SAASKIT_BILLING__SUCCESS_URL": f"{app_base}/?checkout=success"
        "&session_id={CHECKOUT_SESSION_ID}",
        "SAASKIT_BILLING__CANCEL_URL": f"{app_base}/?checkout=canceled",
        "SAASKIT_BILLING__PORTAL_RETURN_URL": f"{app_base}/",
        "SAASKIT_BILLING__MAX_NETWORK_RETRIES": "0",
        # prices cached by an earlier run (in Redis) may name another fake's objects
        "SAASKIT_BILLING__PRICE_CACHE_SECONDS": "0",
    }

"""``saaskit demo``: migrate the configured database and serve the demo app."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

import saaskit
from saaskit.cli.alembic_support import alembic_session
from saaskit.cli.fake_stripe import DEMO_PRICES, demo_environment, start_fake_stripe
from saaskit.cli.logs import LogLevel, LogLevelOption, uvicorn_log_config
from saaskit.cli.output import fail, http_url, load_settings, redact_url
from saaskit.cli.run import HostOption, PortOption
from saaskit.migrations import packaged_config, upgrade
from saaskit.settings import SaaSKitSettings

DEMO_APP = "saaskit.demo.app:app"


def demo(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    reload: Annotated[
        bool,
        typer.Option("--reload/--no-reload", help="Restart when saaskit's own code changes."),
    ] = False,
    log_level: LogLevelOption = LogLevel.info,
    fake_stripe: Annotated[
        bool,
        typer.Option(
            "--fake-stripe",
            help="Bill with saaskit's fake Stripe (in this process, on 127.0.0.1): plans, a "
            "checkout page to pay, webhooks; no Stripe account, nothing sent to Stripe.",
        ),
    ] = False,
) -> None:
    """Try saaskit: migrate the database (default ./saaskit.db) and serve the demo app.

    Settings come from SAASKIT_* variables and .env, e.g. SAASKIT_DATABASE_URL and
    SAASKIT_REDIS_URL, exactly as for a host app. Without SAASKIT_EMAIL__SMTP_HOST emails
    are not sent: each one is printed here, with its links.

    With --fake-stripe, billing runs against saaskit's fake Stripe, started in this
    process on a free port of 127.0.0.1, with the plans pro and team (monthly and
    yearly prices); its checkout page can be paid in a browser.
    """
    settings = load_settings()
    base = http_url(host, port)
    fake = None
    if fake_stripe:
        fake = start_fake_stripe(port=0, prices=DEMO_PRICES)
        local = http_url("127.0.0.1", port)  # the fake reaches the app on loopback
        os.environ.update(demo_environment(fake, base))
        fake.forward_webhooks(f"{local}{settings.api_prefix}/billing/webhook")
        settings = load_settings()
        if settings.billing.api_base != fake.url:  # pragma: no cover - a guard, never expected
            fake.stop()
            fail("--fake-stripe: billing would not use the fake Stripe.")
        typer.secho(
            f"Fake Stripe on {fake.url}: plans pro and team; pay at the checkout session's url.",
            fg=typer.colors.GREEN,
        )
    try:
        _serve(settings, host, port, reload, log_level, base)
    finally:
        if fake is not None:
            fake.stop()


def _serve(
    settings: SaaSKitSettings,
    host: str,
    port: int,
    reload: bool,
    log_level: LogLevel,
    base: str,
) -> None:
    typer.echo(f"Migrating {redact_url(settings.database_url)}", err=True)
    with alembic_session():
        upgrade(packaged_config(settings.database_url))
    typer.secho(
        f"saaskit demo running at {base}: try the API at {base}/docs (Ctrl+C to stop)",
        fg=typer.colors.GREEN,
    )
    uvicorn.run(
        DEMO_APP,
        host=host,
        port=port,
        reload=reload,
        reload_dirs=[str(Path(saaskit.__file__).parent)] if reload else None,
        proxy_headers=False,
        log_level=log_level.value,
        log_config=uvicorn_log_config(log_level),
    )

"""``saaskit billing ...``: operate billing from the command line."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from saaskit.ai.meters import FlushResult
from saaskit.billing.service import ReconcileResult
from saaskit.cli.output import describe_validation_error, fail, load_settings
from saaskit.discovery import DiscoveryError, configured, import_object
from saaskit.kit import SaaSKit

billing_app = typer.Typer(
    name="billing",
    help="Stripe billing: reprocess webhook events, reconcile missed ones, send metered AI usage.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

KitOption = Annotated[
    str | None,
    typer.Option(
        "--kit",
        help="The host's SaaSKit as an import string, e.g. app.main:kit (default: "
        "[tool.saaskit] kit in pyproject.toml, else a kit from the settings).",
        show_default=False,
    ),
]


def _load_kit(kit_path: str | None) -> SaaSKit[Any]:
    directory = Path.cwd()
    try:
        kit_path = kit_path or configured("kit", directory)
        kit = SaaSKit(load_settings()) if kit_path is None else import_object(kit_path, directory)
    except DiscoveryError as error:
        fail(str(error))
    except ValidationError as error:
        fail("invalid settings:\n" + describe_validation_error(error))
    if not isinstance(kit, SaaSKit):
        fail(f"{kit_path} is a {type(kit).__name__}, not a SaaSKit.")
    return kit


@billing_app.command(
    "replay-failed",
    epilog="Examples:\n\n\b\n  $ saaskit billing replay-failed\n"
    "  $ saaskit billing replay-failed --kit app.main:kit --limit 500",
)
def replay_failed(
    kit_path: KitOption = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most this many events, oldest first.")
    ] = 100,
) -> None:
    """Process failed (or interrupted) Stripe webhook events again.

    \f

    Each event re-reads its subscription from Stripe, so replaying is safe in any
    order and at any time. Exits 1 if some events still fail.

    Example:
        ```console
        $ saaskit billing replay-failed
        Replayed 3 events: 3 processed, 0 failed.
        ```
    """
    kit = _load_kit(kit_path)
    if not kit.settings.billing.enabled:
        asyncio.run(kit.aclose())
        fail("billing is not enabled.", hint="Set SAASKIT_BILLING__ENABLED=true and its keys.")
    processed, failed = asyncio.run(_replay(kit, limit))
    typer.echo(f"Replayed {processed + failed} events: {processed} processed, {failed} failed.")
    if failed:
        raise typer.Exit(1)


@billing_app.command(
    "reconcile",
    epilog="Examples:\n\n\b\n  $ saaskit billing reconcile\n"
    "  $ saaskit billing reconcile --since 2026-12-01T00:00:00Z",
)
def reconcile(
    kit_path: KitOption = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"],
            help="Read events created after this time (default: an hour before the newest "
            "event stored).",
        ),
    ] = None,
) -> None:
    """Apply Stripe events that no webhook delivered (an outage, a wrong endpoint).

    \f

    Reads Stripe's event list and handles each event like a webhook delivery: events
    already processed are skipped, so running it twice, or while webhooks arrive, is
    safe. Exits 1 if some events fail.

    Example:
        ```console
        $ saaskit billing reconcile
        Read 12 events since 2026-12-03T09:00:00+00:00: 3 applied, 9 already done, 0 failed.
        ```
    """
    kit = _load_kit(kit_path)
    if not kit.settings.billing.enabled:
        asyncio.run(kit.aclose())
        fail("billing is not enabled.", hint="Set SAASKIT_BILLING__ENABLED=true and its keys.")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    result = asyncio.run(_reconcile(kit, since))
    typer.echo(
        f"Read {result.read} events since {result.since.isoformat(timespec='seconds')}: "
        f"{result.processed} applied, {result.known} already done, {result.failed} failed."
    )
    if result.failed:
        raise typer.Exit(1)


async def _reconcile(kit: SaaSKit[Any], since: datetime | None) -> ReconcileResult:
    try:
        return await kit.billing.reconcile(since)
    finally:
        await kit.aclose()


async def _replay(kit: SaaSKit[Any], limit: int) -> tuple[int, int]:
    try:
        return await kit.billing.webhooks.replay_failed(limit=limit)
    finally:
        await kit.aclose()


@billing_app.command(
    "flush-meters",
    epilog="Examples:\n\n\b\n  $ saaskit billing flush-meters\n"
    "  $ saaskit billing flush-meters --kit app.main:kit --limit 1000",
)
def flush_meters(
    kit_path: KitOption = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most this many events, oldest first.")
    ] = 500,
) -> None:
    """Send metered AI usage waiting in the outbox to Stripe billing meters.

    \f

    Safe at any time and from several processes: each event has a fixed identifier, so
    Stripe counts it once. Run it from cron every minute, or after a Stripe outage.
    Exits 1 if Stripe is unavailable or refused events (see the log).

    Example:
        ```console
        $ saaskit billing flush-meters
        Sent 42 meter events (0 already sent); 0 deferred, 0 failed, 0 skipped; 0 pending.
        ```
    """
    kit = _load_kit(kit_path)
    if not kit.settings.billing.enabled or not kit.settings.ai.meter_event_name:
        asyncio.run(kit.aclose())
        fail(
            "AI usage is not metered.",
            hint="Set SAASKIT_BILLING__ENABLED=true and SAASKIT_AI__METER_EVENT_NAME.",
        )
    result, pending = asyncio.run(_flush(kit, limit))
    typer.echo(
        f"Sent {result.sent} meter events ({result.duplicates} already sent); "
        f"{result.deferred} deferred, {result.failed} failed, {result.skipped} skipped; "
        f"{pending} pending."
    )
    if result.deferred or result.failed:
        raise typer.Exit(1)


async def _flush(kit: SaaSKit[Any], limit: int) -> tuple[FlushResult, int]:
    try:
        result = await kit.meters.flush(limit)
        return result, await kit.meters.pending()
    finally:
        await kit.aclose()

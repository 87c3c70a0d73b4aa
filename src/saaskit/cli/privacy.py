"""``saaskit privacy sweep``: expire data exports and erase accounts past their grace period.

Run it from cron (every hour, say) when no scheduler queues the ``privacy.sweep`` task; a
failed erasure is resumed by the next run. Prints one line of what it did; exits 1 when an
erasure failed (its step and error class are on the deletion row, its traceback in the log).
"""

from __future__ import annotations

from typing import Any

import typer

from saaskit.cli.apikeys import KitOption, _load_kit, _run
from saaskit.cli.output import fail

privacy_app = typer.Typer(
    name="privacy",
    help="Privacy: expire data exports, erase accounts whose grace period is over.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@privacy_app.command("sweep")
def sweep(kit_path: KitOption = None) -> None:
    """Delete expired export archives and erase the accounts due (resumable)."""
    kit = _load_kit(kit_path)
    if not kit.features.enabled(kit.settings, "privacy"):
        fail("the privacy feature is off; set SAASKIT_PRIVACY__ENABLED=true")
    service: Any = kit.feature("privacy")
    result = _run(kit, service.sweep())
    typer.echo(
        f"expired exports: {result.expired_exports}; erased accounts: "
        f"{len(result.erased_users)}; failed erasures: {len(result.failed_deletions)}"
    )
    if result.failed_deletions:
        raise typer.Exit(1)

"""``saaskit api-keys ...``: create and revoke a user's API keys (automation, first setup).

The key is printed once, on stdout alone (so ``KEY=$(saaskit api-keys create ...)``
works); what else is said goes to stderr. Nothing is logged.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from saaskit.cli.alembic_support import first_line
from saaskit.cli.output import describe_validation_error, fail, load_settings
from saaskit.discovery import DiscoveryError, configured, import_object
from saaskit.exceptions import SaaSKitError
from saaskit.kit import SaaSKit

api_keys_app = typer.Typer(
    name="api-keys",
    help="API keys: create or revoke a user's personal key.",
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
EmailOption = Annotated[
    str, typer.Option("--email", help="The user's email address.", show_default=False)
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


def _run(kit: SaaSKit[Any], work: Any) -> Any:
    async def run() -> Any:
        try:
            return await work
        finally:
            await kit.aclose()

    try:
        return asyncio.run(run())
    except SaaSKitError as error:
        fail(error.message)
    except DBAPIError as error:
        fail(
            f"cannot reach the database: {first_line(error)}",
            hint="Is the database reachable and migrated? See `saaskit check`.",
        )


async def _user_id(kit: SaaSKit[Any], email: str) -> int:
    user = await kit.users.get_by_email(email)
    if user is None:
        fail(f"no user {email}.")
    return int(user.id)


@api_keys_app.command(
    "create",
    epilog="Examples:\n\n\b\n"
    "  $ saaskit api-keys create --email ci@example.com --name deploy --scope reports:read\n"
    "  $ KEY=$(saaskit api-keys create --email ci@example.com --name ci --days 90)",
)
def create(
    email: EmailOption,
    name: Annotated[str, typer.Option("--name", help="A label for the key.")] = "cli",
    scopes: Annotated[
        list[str] | None,
        typer.Option(
            "--scope", help="A scope the key grants (repeat for more).", show_default=False
        ),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=1,
            help="Expire after this many days (default: never).",
            show_default=False,
        ),
    ] = None,
    kit_path: KitOption = None,
) -> None:
    """Create a personal API key for a user and print it (once) on stdout."""
    kit = _load_kit(kit_path)
    expires = datetime.now(UTC) + timedelta(days=days) if days else None

    async def work() -> tuple[Any, str]:
        user_id = await _user_id(kit, email)
        row, key = await kit.api_keys.create(user_id, name, scopes or [], expires_at=expires)
        return row, key

    row, key = _run(kit, work())
    typer.echo(f"Created API key {row.public_id} for {email}; it is shown once:", err=True)
    typer.echo(key)


@api_keys_app.command(
    "revoke",
    epilog="Examples:\n\n\b\n  $ saaskit api-keys revoke --email ci@example.com --id 4fWq9XyZ0aBc",
)
def revoke(
    email: EmailOption,
    key_id: Annotated[str, typer.Option("--id", help="The key's public id (from the list).")],
    kit_path: KitOption = None,
) -> None:
    """Revoke one of a user's keys (personal, or an organization key they made)."""
    kit = _load_kit(kit_path)

    async def work() -> None:
        user_id = await _user_id(kit, email)
        await kit.api_keys.revoke_for_user(user_id, key_id)

    _run(kit, work())
    typer.echo(f"Revoked API key {key_id}.")

"""``saaskit createsuperuser``: an administrator account, made by the users service."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import DBAPIError

from saaskit.cli.alembic_support import first_line
from saaskit.cli.database import missing_sqlite_file
from saaskit.cli.output import describe_validation_error, fail, load_settings
from saaskit.discovery import DiscoveryError, configured, import_object
from saaskit.exceptions import InvalidPassword, SaaSKitError
from saaskit.kit import SaaSKit
from saaskit.users.emails import EmailAddress

# The rules of a registration: canonical form, RFC 5321 lengths, one script.
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailAddress)


def createsuperuser(
    email: Annotated[
        str | None,
        typer.Option(
            "--email",
            help="Email address of the new superuser (asked for when missing).",
            show_default=False,
        ),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of stdin instead of prompting.",
        ),
    ] = False,
    full_name: Annotated[
        str | None, typer.Option("--full-name", help="Display name.", show_default=False)
    ] = None,
    kit_path: Annotated[
        str | None,
        typer.Option(
            "--kit",
            help="The host's SaaSKit as an import string, e.g. app.main:kit (default: "
            "[tool.saaskit] kit in pyproject.toml, else a kit with the default user model).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a verified superuser; the password policy applies as for any user.

    Interactively, a missing email and a password the policy refuses are asked for again.
    \f

    Example:
        ```console
        $ saaskit createsuperuser --email admin@example.com
        $ echo "$PASSWORD" | saaskit createsuperuser --email admin@example.com --password-stdin
        ```
    """
    if email is None and password_stdin:
        fail("--email is required with --password-stdin (stdin holds the password).")
    address = _ask_email() if email is None else _check_email(email, fatal=True)
    if address is None:  # pragma: no cover - a fatal check exits instead
        raise typer.Exit(1)
    kit = _load_kit(kit_path)
    try:
        password = _read_password(password_stdin, kit)
    except BaseException:
        asyncio.run(kit.aclose())
        raise
    missing = missing_sqlite_file(kit.settings.database_url)
    if missing is not None:
        asyncio.run(kit.aclose())
        fail(f"database file {missing} does not exist.", hint="Create it with: saaskit migrate")
    try:
        user = asyncio.run(_create(kit, address, password, full_name))
    except SaaSKitError as error:
        fail(error.message)
    except DBAPIError as error:
        fail(
            f"cannot create the user: {first_line(error)}",
            hint="Is the database reachable and migrated? See `saaskit check`.",
        )
    typer.echo(f"Created superuser {user.email} with id {user.id}")


def _check_email(email: str, *, fatal: bool) -> str | None:
    """``email`` in canonical form; when refused, exit (``fatal``) or say why and return None."""
    try:
        return _EMAIL.validate_python(email)
    except ValidationError as error:
        reason = error.errors(include_input=False)[0]["msg"].rstrip(".")
        if fatal:
            fail(f"--email is refused: {reason}.")
        typer.secho(f"That email is refused: {reason}.", fg=typer.colors.YELLOW, err=True)
        return None


def _ask_email() -> str:
    while True:
        checked = _check_email(str(typer.prompt("Email")), fatal=False)
        if checked is not None:
            return checked


def _read_password(from_stdin: bool, kit: SaaSKit[Any]) -> str:
    if from_stdin:
        line = typer.get_text_stream("stdin").readline().rstrip("\r\n")
        if not line:
            fail("no password on stdin (--password-stdin reads its first line).")
        try:
            kit.passwords.check_policy(line)
        except InvalidPassword as error:
            fail(error.message)
        return line
    while True:
        password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            kit.passwords.check_policy(password)
        except InvalidPassword as error:
            typer.secho(f"{error.message} Try again.", fg=typer.colors.YELLOW, err=True)
            continue
        return password


def _load_kit(kit_path: str | None) -> SaaSKit[Any]:
    directory = Path.cwd()
    try:
        kit_path = kit_path or configured("kit", directory)
        if kit_path is None:
            return SaaSKit(load_settings())
        kit = import_object(kit_path, directory)
    except DiscoveryError as error:
        fail(str(error))
    except ValidationError as error:
        fail("invalid settings:\n" + describe_validation_error(error))
    if not isinstance(kit, SaaSKit):
        fail(f"{kit_path} is not a SaaSKit (it is a {type(kit).__name__}).")
    return kit


async def _create(kit: SaaSKit[Any], email: str, password: str, full_name: str | None) -> Any:
    try:
        return await kit.users.create(
            email, password, full_name=full_name, is_superuser=True, is_verified=True
        )
    finally:
        await kit.aclose()

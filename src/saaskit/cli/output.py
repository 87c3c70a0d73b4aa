"""Console output shared by the commands: failures, warnings and settings loading."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from saaskit.settings import SaaSKitSettings


def fail(message: str, *, hint: str | None = None, code: int = 1) -> NoReturn:
    """Print ``message`` (and an optional hint) on stderr and exit with ``code``.

    Args:
        message: what went wrong, in one line.
        hint: what to do about it.
        code: the process exit code.

    Raises:
        typer.Exit: always.
    """
    typer.secho(f"Error: {message}", fg=typer.colors.RED, err=True)
    if hint:
        typer.echo(hint, err=True)
    raise typer.Exit(code)


def passed(message: str) -> None:
    """Print a check that passed."""
    typer.echo(typer.style("  ok    ", fg=typer.colors.GREEN) + message)


def warned(message: str) -> None:
    """Print a problem that does not stop the process (development only)."""
    typer.echo(typer.style("  warn  ", fg=typer.colors.YELLOW) + message)


def failed(message: str) -> None:
    """Print a problem that would stop production."""
    typer.echo(typer.style("  FAIL  ", fg=typer.colors.RED, bold=True) + message)


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, naming the environment variable to fix; never the value."""
    lines: list[str] = []
    for problem in error.errors(include_input=False, include_url=False):
        location = [str(part) for part in problem["loc"]]
        message = str(problem["msg"]).removeprefix("Value error, ")
        if location:
            variable = "SAASKIT_" + "__".join(part.upper() for part in location)
            lines.append(f"{variable}: {message}")
        else:
            lines.append(message)
    return "\n".join(lines)


def load_settings(**overrides: Any) -> SaaSKitSettings:
    """Read :class:`SaaSKitSettings` (environment and ``.env``), or exit with the reason.

    Args:
        **overrides: values that win over the environment (e.g. ``database_url``).
    """
    try:
        return SaaSKitSettings(**overrides)
    except ValidationError as error:
        fail(
            "invalid settings:\n" + describe_validation_error(error),
            hint="Fix the SAASKIT_* environment variables or .env, then run `saaskit check`.",
        )


def redact_url(url: str) -> str:
    """``url`` with its password hidden, fit to print."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


# A server bound to every interface is reached, from this machine, on loopback.
_REACHABLE = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 - a lookup, not a bind


def http_url(host: str, port: int) -> str:
    """The URL to open for a server bound to ``host:port`` (IPv6 hosts in brackets)."""
    host = _REACHABLE.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"

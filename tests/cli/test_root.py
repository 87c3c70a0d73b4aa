"""The command tree: version, help texts, the secret generator."""

from __future__ import annotations

import subprocess
import sys

import typer
from typer.main import get_command

from saaskit import SaaSKitSettings, __version__
from saaskit.cli import app
from tests.cli.helpers import invoke

COMMANDS = {
    "demo",
    "run",
    "migrate",
    "downgrade",
    "makemigrations",
    "createsuperuser",
    "check",
    "secret",
}


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"saaskit {__version__}"


def test_every_command_and_option_has_help() -> None:
    group = get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    assert set(group.commands) >= COMMANDS
    for name, command in group.commands.items():
        assert command.help, f"{name} has no help"
        for parameter in command.params:
            assert getattr(parameter, "help", None), f"{name} {parameter.name} has no help"
        result = invoke(name, "--help")
        assert result.exit_code == 0, result.output
        assert "Usage: saaskit " + name in result.stdout


def test_secret_is_fresh_and_accepted_in_production() -> None:
    first = invoke("secret")
    second = invoke("secret")
    assert first.exit_code == second.exit_code == 0
    key = first.stdout.strip()
    assert len(key) == 64
    assert key != second.stdout.strip()
    settings = SaaSKitSettings(environment="production", secret_key=key)
    assert settings.problems() == []


def test_printed_server_urls_can_be_opened() -> None:
    from saaskit.cli.output import http_url

    assert http_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert http_url("0.0.0.0", 80) == "http://127.0.0.1:80"  # noqa: S104
    assert http_url("::", 8000) == "http://[::1]:8000"


def test_version_answers_without_importing_the_kit() -> None:
    """`saaskit --version` is fast because it imports neither the commands nor FastAPI."""
    code = (
        "import sys; sys.argv = ['saaskit', '--version']\n"
        "from saaskit.cli import main; main()\n"
        "heavy = [m for m in ('fastapi', 'sqlalchemy', 'alembic', 'typer', 'saaskit.kit') "
        "if m in sys.modules]\n"
        "print('heavy:', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines() == [f"saaskit {__version__}", "heavy: []"]

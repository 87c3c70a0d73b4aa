"""The ``saaskit`` Typer app: global options and the list of commands."""

from __future__ import annotations

from typing import Annotated

import typer

from saaskit.__about__ import __version__
from saaskit.cli.apikeys import api_keys_app
from saaskit.cli.billing import billing_app
from saaskit.cli.check import check
from saaskit.cli.demo import demo
from saaskit.cli.fake_stripe import fake_stripe
from saaskit.cli.guard import GuardedGroup
from saaskit.cli.init import init
from saaskit.cli.migrate import downgrade, makemigrations, migrate
from saaskit.cli.privacy import privacy_app
from saaskit.cli.run import run
from saaskit.cli.secret import secret
from saaskit.cli.users import createsuperuser
from saaskit.cli.worker import worker

app = typer.Typer(
    name="saaskit",
    cls=GuardedGroup,
    help="Auth, users and billing for FastAPI apps: run, migrate and check a saaskit project.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # help texts mention [tool.saaskit] literally
    pretty_exceptions_show_locals=False,  # locals may hold passwords and keys
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"saaskit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the saaskit version and exit.",
        ),
    ] = False,
) -> None:
    """Auth, users and billing for FastAPI apps: run, migrate and check a saaskit project."""


def _examples(*lines: str) -> str:
    # \b keeps click from re-wrapping the example lines.
    return "Examples:\n\n\b\n" + "\n".join(f"  $ {line}" for line in lines)


app.command("demo", epilog=_examples("saaskit demo", "saaskit demo --port 9000 --reload"))(demo)
app.command(
    "init",
    epilog=_examples(
        "saaskit init demoapp",
        "saaskit init demoapp --database postgres --features billing,celery",
    ),
)(init)
app.command(
    "run", epilog=_examples("saaskit run", "saaskit run app.main:app --host 0.0.0.0 --workers 4")
)(run)
app.command(
    "migrate", epilog=_examples("saaskit migrate", "saaskit migrate --revision 0001_initial")
)(migrate)
app.command(
    "downgrade",
    epilog=_examples("saaskit downgrade -1", "saaskit downgrade base"),
    # so a relative revision such as -1 is read as the argument, not as an option
    context_settings={"ignore_unknown_options": True},
)(downgrade)
app.command("makemigrations", epilog=_examples('saaskit makemigrations -m "add company"'))(
    makemigrations
)
app.command(
    "createsuperuser",
    epilog=_examples(
        "saaskit createsuperuser --email admin@example.com",
        'echo "$PASSWORD" | saaskit createsuperuser --email admin@example.com --password-stdin',
    ),
)(createsuperuser)
app.command(
    "fake-stripe",
    epilog=_examples(
        "saaskit fake-stripe --forward-to http://127.0.0.1:8000/api/v1/billing/webhook",
        "saaskit fake-stripe --port 12111 --price pro_monthly:2000:month "
        "--price pro_yearly:20000:year",
    ),
)(fake_stripe)
app.command("check", epilog=_examples("saaskit check"))(check)
app.command("secret", epilog=_examples('echo "SAASKIT_SECRET_KEY=$(saaskit secret)" >> .env'))(
    secret
)

app.command(
    "worker",
    epilog=_examples(
        "saaskit worker --app myapp.main:kit",
        "saaskit worker --app myapp.main:kit --concurrency 8 --hostname worker2@%h",
    ),
)(worker)

app.add_typer(billing_app, name="billing")
app.add_typer(api_keys_app, name="api-keys")
app.add_typer(privacy_app, name="privacy")


def main() -> None:
    """Entry point of the ``saaskit`` console script."""
    app(prog_name="saaskit")

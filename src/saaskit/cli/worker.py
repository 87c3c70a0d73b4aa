"""``saaskit worker``: a Celery worker that runs the host kit's background tasks."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from saaskit.cli.logs import LogLevel
from saaskit.cli.output import describe_validation_error, fail
from saaskit.discovery import DiscoveryError, configured, import_object
from saaskit.exceptions import MissingExtra
from saaskit.kit import SaaSKit
from saaskit.tasks.celery import BrokerNotConfigured

HOW_TO_NAME_THE_KIT = (
    "Pass it with --app (saaskit worker --app app.main:kit), or set it in pyproject.toml:\n"
    "\n"
    "    [tool.saaskit]\n"
    '    kit = "app.main:kit"'
)
HOW_TO_USE_CELERY = (
    "Set SAASKIT_TASKS__BACKEND=celery and a broker (SAASKIT_TASKS__BROKER_URL, or "
    "SAASKIT_REDIS_URL) for the app and for the worker; see the Tasks docs."
)


class Pool(StrEnum):
    """How a worker runs tasks concurrently."""

    prefork = "prefork"
    solo = "solo"
    threads = "threads"


def worker(
    app: Annotated[
        str | None,
        typer.Option(
            "--app",
            "-A",
            help="The host's SaaSKit as an import string, e.g. myapp.main:kit (default: "
            "[tool.saaskit] kit in pyproject.toml).",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-c",
            min=1,
            help="Tasks run at once: child processes (prefork) or threads (default: the "
            "number of CPU cores).",
            show_default=False,
        ),
    ] = None,
    queues: Annotated[
        str | None,
        typer.Option(
            "--queues",
            "-Q",
            help="Comma-separated queues to consume (default: SAASKIT_TASKS__QUEUE).",
            show_default=False,
        ),
    ] = None,
    loglevel: Annotated[LogLevel, typer.Option("--loglevel", "-l", help="Log level.")] = (
        LogLevel.info
    ),
    pool: Annotated[
        Pool,
        typer.Option(
            "--pool",
            "-P",
            help="prefork: child processes; threads: threads of one process; solo: one task "
            "at a time in the worker process.",
        ),
    ] = Pool.prefork,
    hostname: Annotated[
        str | None,
        typer.Option(
            "--hostname",
            "-n",
            help="Node name, unique per worker on a host, e.g. worker2@%h (default: Celery's "
            "celery@%h).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start a Celery worker that runs the kit's tasks (emails, Stripe webhook events)."""
    if pool is Pool.solo and concurrency not in (None, 1):
        fail("--pool solo runs one task at a time; drop --concurrency or use another pool.")
    kit = load_kit(app)
    argv = ["worker", f"--loglevel={loglevel.value}", f"--pool={pool.value}"]
    argv.append(f"--queues={queues or kit.settings.tasks.queue}")
    if concurrency is not None:
        argv.append(f"--concurrency={concurrency}")
    if hostname:
        argv.append(f"--hostname={hostname}")
    code = kit.celery_app.worker_main(argv)
    if code:
        raise typer.Exit(code)


def load_kit(import_string: str | None) -> SaaSKit[Any]:
    """The kit named by ``import_string`` (or ``[tool.saaskit] kit``), configured for Celery."""
    directory = Path.cwd()
    try:
        import_string = import_string or configured("kit", directory)
        if import_string is None:
            fail("no kit named.\n" + HOW_TO_NAME_THE_KIT)
        kit = import_object(import_string, directory)
    except DiscoveryError as error:
        fail(str(error), hint=HOW_TO_NAME_THE_KIT)
    except (MissingExtra, BrokerNotConfigured) as error:
        fail(str(error))
    except ValidationError as error:
        fail("invalid settings:\n" + describe_validation_error(error))
    if not isinstance(kit, SaaSKit):
        fail(f"{import_string} is a {type(kit).__name__}, not a SaaSKit.", hint=HOW_TO_NAME_THE_KIT)
    if kit.settings.tasks.backend != "celery":
        fail(
            f"the kit {import_string} runs its tasks in-process, so a worker would get none.",
            hint=HOW_TO_USE_CELERY,
        )
    return kit

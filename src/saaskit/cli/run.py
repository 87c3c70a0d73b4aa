"""``saaskit run``: serve the host app with uvicorn."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from saaskit.cli.logs import LogLevel, LogLevelOption, uvicorn_log_config
from saaskit.cli.output import fail, http_url
from saaskit.discovery import DiscoveryError, find_app
from saaskit.observability.multiprocess import prepare_multiprocess_metrics
from saaskit.settings import SaaSKitSettings

HOW_TO_NAME_THE_APP = (
    "Pass it as an argument (saaskit run app.main:app), or set it in pyproject.toml:\n"
    "\n"
    "    [tool.saaskit]\n"
    '    app = "app.main:app"\n'
    "\n"
    "or create app/main.py with an `app` (the layout `saaskit init` makes)."
)

HostOption = Annotated[str, typer.Option("--host", help="Interface to bind (0.0.0.0: all).")]
PortOption = Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")]


def run(
    app: Annotated[
        str | None,
        typer.Argument(
            help="The app as an import string, module:attribute (default: [tool.saaskit] app "
            "in pyproject.toml, else app.main:app when app/main.py defines `app`).",
            show_default=False,
        ),
    ] = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    reload: Annotated[
        bool, typer.Option("--reload", help="Restart when the code changes (development).")
    ] = False,
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, help="Worker processes (not with --reload).")
    ] = 1,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            "--proxy-headers/--no-proxy-headers",
            help="Trust X-Forwarded-For/-Proto from --forwarded-allow-ips (behind a proxy only).",
        ),
    ] = False,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="Comma-separated proxy IPs trusted with --proxy-headers (uvicorn's default: "
            "127.0.0.1).",
            show_default=False,
        ),
    ] = None,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request.")
    ] = True,
    log_level: LogLevelOption = LogLevel.info,
) -> None:
    """Serve the app with uvicorn (e.g. `saaskit run app.main:app --workers 4`)."""
    directory = Path.cwd()
    if app is None:
        try:
            app = find_app(directory)
        except DiscoveryError as error:
            fail(str(error))
        if app is None:
            fail("no app found in this directory.\n" + HOW_TO_NAME_THE_APP)
    elif ":" not in app:
        fail(f"{app!r} is not an import string like app.main:app.\n" + HOW_TO_NAME_THE_APP)
    if reload and workers > 1:
        fail("--reload and --workers cannot be used together; drop one of them.")
    # Like the `uvicorn` command: the project's packages import from the current folder
    # (worker and reload processes inherit sys.path).
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    _refuse_missing_module(app, directory)
    # Broken SAASKIT_* variables are reported here in a line (GuardedGroup), not as a
    # traceback from every worker.
    settings = SaaSKitSettings()
    if workers > 1:
        if not settings.redis_url:
            _warn_unshared()
        # Before the workers import prometheus_client (metrics may be enabled in code too).
        prepare_multiprocess_metrics()
    json_lines = settings.log.format == "json"
    typer.echo(f"Serving {app} on {http_url(host, port)}", err=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        reload=reload,
        reload_dirs=[str(directory)] if reload else None,
        workers=workers if workers > 1 else None,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
        access_log=access_log,
        log_level=log_level.value,
        log_config=uvicorn_log_config(log_level, json_lines=json_lines),
    )


def _refuse_missing_module(app: str, directory: Path) -> None:
    """Fail in one line when the app's module cannot be found (uvicorn prints a traceback)."""
    module = app.partition(":")[0]
    importlib.invalidate_caches()
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing, or the name is malformed
        found = False
    if not found:
        fail(
            f"cannot import module {module!r} (from {app}): no such module in {directory}.",
            hint="Run it in the project's folder, or fix the import string "
            "(saaskit run package.module:app).",
        )


def _warn_unshared() -> None:
    """Several workers with the in-process store each keep their own sessions."""
    typer.secho(
        "Warning: several workers without SAASKIT_REDIS_URL: each keeps its own sessions and "
        "rate limits, so a token refreshed in one is unknown to the others.",
        fg=typer.colors.YELLOW,
        err=True,
    )

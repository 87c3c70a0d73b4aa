"""``saaskit demo``: migrate the configured database and serve the demo app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

import saaskit
from saaskit.cli.alembic_support import alembic_session
from saaskit.cli.logs import LogLevel, LogLevelOption, uvicorn_log_config
from saaskit.cli.output import http_url, load_settings, redact_url
from saaskit.cli.run import HostOption, PortOption
from saaskit.migrations import packaged_config, upgrade

DEMO_APP = "saaskit.demo.app:app"


def demo(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    reload: Annotated[
        bool,
        typer.Option("--reload/--no-reload", help="Restart when saaskit's own code changes."),
    ] = False,
    log_level: LogLevelOption = LogLevel.info,
) -> None:
    """Try saaskit: migrate the database (default ./saaskit.db) and serve the demo app.

    Settings come from SAASKIT_* variables and .env, e.g. SAASKIT_DATABASE_URL and
    SAASKIT_REDIS_URL, exactly as for a host app. Without SAASKIT_EMAIL__SMTP_HOST emails
    are not sent: each one is printed here, with its links.
    """
    settings = load_settings()
    typer.echo(f"Migrating {redact_url(settings.database_url)}", err=True)
    with alembic_session():
        upgrade(packaged_config(settings.database_url))
    base = http_url(host, port)
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

"""Log levels of the commands, and the logging setup of the servers they start."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
import uvicorn.config

from saaskit.observability.logs import log_config


class LogLevel(StrEnum):
    """The levels the commands accept (uvicorn's and Celery's names)."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


LogLevelOption = Annotated[
    LogLevel,
    typer.Option(
        "--log-level",
        help="Lowest level shown, for uvicorn and saaskit alike (warning hides the access "
        "log; emails not delivered are warnings, so they stay).",
    ),
]


def uvicorn_log_config(level: LogLevel, *, json_lines: bool = False) -> dict[str, Any]:
    """Uvicorn's logging configuration, plus the ``saaskit`` loggers at ``level``.

    ``uvicorn.run`` only sets up its own loggers; without a handler of their own, the
    ``saaskit`` ones would fall through to Python's last-resort handler, which prints
    WARNING and above only. They get uvicorn's console handler (stderr, its formatter)
    instead and do not propagate, like uvicorn's loggers, so that a host whose app adds a
    root handler does not see each line twice. With ``json_lines`` every line is one JSON
    object with the request id (``SAASKIT_LOG__FORMAT=json``).

    Example:
        >>> uvicorn_log_config(LogLevel.debug)["loggers"]["saaskit"]["level"]
        'DEBUG'
    """
    config = log_config(uvicorn.config.LOGGING_CONFIG, json_lines=json_lines)
    config["loggers"]["saaskit"] = {
        "handlers": ["default"],
        "level": level.value.upper(),
        "propagate": False,
    }
    return config

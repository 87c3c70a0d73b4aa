"""Structured (JSON) logs: one object per line, with the request id.

``saaskit run`` and ``saaskit worker`` use it when ``SAASKIT_LOG__FORMAT=json``; a host
that starts uvicorn itself passes :func:`log_config` as ``log_config=``.
"""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime
from typing import Any

from typing_extensions import override

import saaskit.observability.requestid  # noqa: F401 - stamps records with the request id


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object.

    Its keys: ``time``, ``level``, ``logger``, ``message``, ``request_id`` (when the line
    belongs to a request or its task) and ``exception``.

    Every value is JSON-escaped, so no message can break the line into two records.

    Example:
        >>> record = logging.makeLogRecord({"name": "saaskit", "msg": "hi", "levelno": 20,
        ...                                 "levelname": "INFO", "created": 0})
        >>> print(JsonFormatter().format(record))
        {"time": "1970-01-01T00:00:00.000Z", "level": "INFO", "logger": "saaskit", "message": "hi"}
    """

    @override
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "time": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


JSON_FORMATTER = {"()": "saaskit.observability.logs.JsonFormatter"}


def log_config(base: dict[str, Any], *, json_lines: bool) -> dict[str, Any]:
    """A logging configuration that writes JSON lines when ``json_lines``.

    ``base`` (a ``logging.config.dictConfig`` dict, e.g. uvicorn's) with every formatter
    replaced by :class:`JsonFormatter`.
    """
    config = copy.deepcopy(base)
    if json_lines:
        config["formatters"] = {name: dict(JSON_FORMATTER) for name in config["formatters"]}
    return config

"""Request ids: one per request, from a valid ``X-Request-ID`` or made here.

The id is kept in a context variable for the request's whole call stack, so every log
line of the request carries it (:class:`~saaskit.observability.logs.JsonFormatter`), and
tasks the request enqueues inherit it (asyncio copies the context into the tasks it
creates; the Celery runner sends it with the task). It is returned in the response
header and in error bodies.

A client's id is used only when it is 1-128 characters of ``A-Z a-z 0-9 . _ : -``: no
spaces, quotes or line breaks, so it cannot forge a log line or a JSON field.
"""

from __future__ import annotations

import logging
import os
import re
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str | None] = ContextVar("saaskit_request_id", default=None)
"""The id of the request (or of the task) being handled, ``None`` outside one."""

REQUEST_ID_SCOPE_KEY = "saaskit.request_id"
"""Where the middleware leaves the id in the ASGI scope (for the 500 handler, which runs
outside every middleware)."""

REQUEST_ID_HEADER_SCOPE_KEY = "saaskit.request_id.header"

_VALID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def _stamp_records() -> None:
    """Give every log record a ``request_id`` attribute.

    It is read when the record is made: a formatter may run later, or in another thread.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "saaskit_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = REQUEST_ID.get()
        return record

    factory.saaskit_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_stamp_records()


def valid_request_id(value: str | bytes | None) -> bool:
    """Whether ``value`` may be used as a request id (and so written to a log).

    Example:
        >>> valid_request_id("abc-123"), valid_request_id("a b"), valid_request_id("x\\ny")
        (True, False, False)
    """
    if value is None:
        return False
    raw = value.encode("utf-8", "replace") if isinstance(value, str) else value
    return _VALID.fullmatch(raw) is not None


def new_request_id() -> str:
    """A fresh random id (32 hex characters)."""
    return os.urandom(16).hex()


def assign_request_id(scope: Scope, header: bytes, header_name: str) -> tuple[bytes, bytes]:
    """Give the request of ``scope`` its id.

    The id is the client's ``header`` when valid, else a new one; it is left in the
    scope. The caller keeps it in :data:`REQUEST_ID` while the request is handled.

    Args:
        scope: the request's ASGI scope.
        header: the request id header's name, lowercase bytes (as ASGI gives them).
        header_name: the same name as configured, kept in the scope for the 500 handler.

    Returns:
        The response header that carries the id: ``(name, value)``.
    """
    request_id = None
    for name, value in scope["headers"]:
        if name == header:
            if _VALID.fullmatch(value) is not None:
                request_id = value.decode("ascii")
            break
    if request_id is None:
        request_id = new_request_id()
    scope[REQUEST_ID_SCOPE_KEY] = request_id
    scope[REQUEST_ID_HEADER_SCOPE_KEY] = header_name
    return header, request_id.encode("ascii")


def current_request_id() -> str | None:
    """The id of the request or task this code runs for, if any."""
    return REQUEST_ID.get()


class RequestIdMiddleware:
    """Give every HTTP request an id.

    The id is returned in ``header`` and kept in :data:`REQUEST_ID` while the request is
    handled.
    """

    def __init__(self, app: ASGIApp, header: str = "X-Request-ID") -> None:
        self.app = app
        self.header_name = header
        self.header = header.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request with its id set, and return the id in the response header."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = assign_request_id(scope, self.header, self.header_name)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = REQUEST_ID.set(scope[REQUEST_ID_SCOPE_KEY])
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)

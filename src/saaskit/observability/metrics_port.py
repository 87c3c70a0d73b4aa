"""The internal metrics port (``settings.metrics.port``).

A tiny HTTP server, separate from the app's port, that answers ``GET <path>`` with the metrics page
and nothing else.

Every worker process listens on the same port with ``SO_REUSEPORT``, so the kernel
hands each scrape to one of them, and any of them reports every worker's samples
(multiprocess mode). A worker that cannot bind (another program holds the port) logs a
warning and serves the app anyway.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

from saaskit.observability.metrics import PrometheusRecorder, authorized

if TYPE_CHECKING:
    from saaskit.settings import MetricsSettings

logger = logging.getLogger("saaskit")

MAX_HEAD = 8192
READ_TIMEOUT = 5.0


class MetricsPort:
    """Serves the metrics page on ``settings.host:settings.port`` while started."""

    def __init__(self, settings: MetricsSettings, metrics: PrometheusRecorder) -> None:
        self.settings = settings
        self.metrics = metrics
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on ``metrics.host`` and ``metrics.port``."""
        assert self.settings.port is not None
        try:
            self._server = await asyncio.start_server(
                self._answer,
                self.settings.host,
                self.settings.port,
                reuse_address=True,
                reuse_port=hasattr(socket, "SO_REUSEPORT"),
            )
        except OSError as error:
            logger.warning(
                "metrics port %s:%s is not available (%s); metrics are not served by this process",
                self.settings.host,
                self.settings.port,
                error,
            )

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            status, body, content_type = await self._respond(head)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            status, body, content_type = "400 Bad Request", b"bad request\n", "text/plain"
        except ConnectionError:
            writer.close()
            return
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
            "Connection: close\r\n\r\n".encode("latin-1")
            + body
        )
        try:
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _respond(self, head: bytes) -> tuple[str, bytes, str]:
        if len(head) > MAX_HEAD:
            return "431 Request Header Fields Too Large", b"headers too large\n", "text/plain"
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        path = rest.partition(" ")[0].partition("?")[0]
        if method not in ("GET", "HEAD") or path != self.settings.path:
            return "404 Not Found", b"not found\n", "text/plain"
        authorization = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "authorization":
                authorization = value.strip()
        if not authorized(self.settings, authorization):
            return "401 Unauthorized", b"metrics need the metrics bearer token\n", "text/plain"
        body, content_type = await asyncio.to_thread(self.metrics.render)
        return "200 OK", body if method == "GET" else b"", content_type

"""ASGI middleware installed by ``kit.install(app)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saaskit.errors import SECURITY_HEADERS_SCOPE_KEY, error_json
from saaskit.exceptions import ErrorCode
from saaskit.observability.requestid import REQUEST_ID, REQUEST_ID_SCOPE_KEY, assign_request_id

if TYPE_CHECKING:
    from saaskit.observability.metrics import PrometheusRecorder
    from saaskit.settings import MetricsSettings


class _TooLarge(HTTPException):
    # An HTTPException, so request parsing re-raises it and the app's handler answers 413.
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body is larger than {max_bytes} bytes.")


class BodySizeLimitMiddleware:
    """Answer 413 for request bodies over ``max_bytes``, before any parsing or hashing.

    A declared ``Content-Length`` over the limit is refused without reading the body; a
    chunked body is counted as it streams and refused as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a request body over the limit with 413 (declared or streamed)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(scope, receive, send)
                    return
                break
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_json(
            413,
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"The request body is larger than {self.max_bytes} bytes.",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


PRINCIPAL_SCOPE_KEY = "saaskit.principal"
"""Where saaskit's auth dependencies keep the authenticated principal of a request."""

_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeadersMiddleware:
    """Add conservative security headers to every response (unless already set).

    ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
    ``Referrer-Policy: strict-origin-when-cross-origin``, in production
    ``Strict-Transport-Security`` (one year, subdomains), and ``Cache-Control: no-store``
    on every response to an authenticated request (one that went through saaskit's auth
    dependencies), so no shared or browser cache keeps a user's data.
    """

    def __init__(self, app: ASGIApp, *, hsts: bool, request_id_header: str | None = None) -> None:
        self.app = app
        # With a header name, it also does the work of RequestIdMiddleware (one layer
        # instead of two on every request): kit.install() adds it so.
        self.request_id_header = request_id_header
        self.request_id_key = (request_id_header or "").lower().encode("latin-1")
        headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]
        if hsts:
            headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the security headers to every HTTP response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # An unhandled error is answered by Starlette's ServerErrorMiddleware, outside every
        # middleware: saaskit's 500 handler reads the headers from here (same scope dict).
        scope[SECURITY_HEADERS_SCOPE_KEY] = self.headers
        id_header = None
        if self.request_id_header is not None:
            id_header = assign_request_id(scope, self.request_id_key, self.request_id_header)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                existing = {name.lower() for name, _ in headers}
                extra = [(n, v) for n, v in self.headers if n not in existing]
                if scope.get(PRINCIPAL_SCOPE_KEY) is not None and b"cache-control" not in existing:
                    extra.append(_NO_STORE)
                if id_header is not None:
                    extra.append(id_header)
                message["headers"] = [*headers, *extra]
            await send(message)

        if id_header is None:
            await self.app(scope, receive, send_with_headers)
            return
        token = REQUEST_ID.set(scope[REQUEST_ID_SCOPE_KEY])
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            REQUEST_ID.reset(token)


def install_metrics(app: Any, settings: MetricsSettings, metrics: PrometheusRecorder) -> None:
    """Add the metrics middleware and, if needed, the metrics page to ``app``.

    The middleware goes outermost, so it sees every answer. The metrics page is
    served on the app's port unless the metrics have their own (``settings.port``).

    Args:
        app: the host's FastAPI app.
        settings: ``settings.metrics``.
        metrics: the kit's recorder.
    """
    from saaskit.observability.metrics import MetricsMiddleware

    app.add_middleware(MetricsMiddleware, recorder=metrics)
    if settings.port is None:  # else only on the internal port (see the kit's lifespan)
        app.add_route(
            settings.path,
            _metrics_endpoint(settings, metrics),
            methods=["GET"],
            include_in_schema=False,
        )


def _metrics_endpoint(settings: MetricsSettings, metrics: PrometheusRecorder) -> Any:
    """The endpoint of the metrics page on the app's port (the token is required)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response

    from saaskit.errors import error_json
    from saaskit.exceptions import ErrorCode
    from saaskit.observability.metrics import authorized

    async def serve_metrics(request: Request) -> Response:
        if not authorized(settings, request.headers.get("authorization")):
            return error_json(
                401,
                ErrorCode.NOT_AUTHENTICATED,
                "Metrics need the metrics bearer token.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        body, content_type = await run_in_threadpool(metrics.render)
        return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})

    return serve_metrics

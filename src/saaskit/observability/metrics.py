"""Prometheus metrics (``saaskit[metrics]``, the official ``prometheus-client``).

Off by default: then :func:`recorder` is a :class:`Recorder` whose methods do nothing
and no middleware is installed, so requests pay nothing. A kit with
``settings.metrics.enabled`` switches the process to a :class:`PrometheusRecorder` (one
per process: the client's samples are process-wide) and serves the page.

Labels are bounded: routes are templates (``/api/v1/users/{user_id}``, never the raw
path; unmatched paths are ``unmatched``), methods outside the usual seven are ``other``,
models are the configured ones, tasks the kit's.

Under ``saaskit run --workers N`` the client's multiprocess mode is on (see
:mod:`saaskit.observability.multiprocess`): a scrape answered by any worker reports
the sum of every worker.
"""

from __future__ import annotations

import hmac
import threading
import time
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from typing_extensions import override

from saaskit.exceptions import require_module
from saaskit.observability.multiprocess import multiprocess_mode

if TYPE_CHECKING:
    from saaskit.settings import MetricsSettings

PREFIX = "saaskit_"

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HASH_WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WEBHOOK_LAG_BUCKETS = (0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)


class Recorder:
    """What saaskit counts; this base class records nothing (metrics off)."""

    enabled = False

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request answered."""

    def login(self, outcome: str) -> None:
        """A login attempt.

        The outcome is ``ok``, ``failed`` (wrong credentials) or ``locked`` (rate limited).
        """

    def registration(self) -> None:
        """A user registered."""

    def refresh(self, outcome: str) -> None:
        """A refresh token presented: ``ok`` or ``reused`` (the session is revoked)."""

    def revocation(self, reason: str, sessions: int = 1) -> None:
        """Sessions ended: ``logout``, ``logout_all`` or ``reuse``."""

    def rate_limited(self, rule: str) -> None:
        """A request refused by the rate limit ``rule``."""

    def hash_queued(self) -> None:
        """A password hash or check waits for a hashing thread."""

    def hash_started(self, waited: float) -> None:
        """... and got one after ``waited`` seconds."""

    def webhook(self, status: str, lag: float | None = None) -> None:
        """A Stripe event.

        The outcome is ``processed``, ``failed``, ``duplicate`` or ``queued``; ``lag`` is
        the seconds since Stripe created it (when processed).
        """

    def task(self, name: str, outcome: str) -> None:
        """A background task ran: ``ok``, ``retry`` or ``failed``."""

    def ai_tokens(self, model: str, prompt: int, completion: int) -> None:
        """Tokens charged for an AI call."""

    def store_error(self) -> None:
        """The store (Redis) could not be reached."""

    def database_error(self) -> None:
        """A database statement or connection failed."""


NULL_RECORDER = Recorder()
_recorder: Recorder = NULL_RECORDER
_lock = threading.Lock()


def recorder() -> Recorder:
    """The process's recorder (a no-op one until a kit enables metrics)."""
    return _recorder


def enable_metrics() -> PrometheusRecorder:
    """Switch this process to Prometheus metrics (once; later calls return the same).

    Raises:
        MissingExtra: ``prometheus-client`` is not installed (``saaskit[metrics]``).
    """
    global _recorder
    require_module("prometheus_client", "metrics")
    with _lock:
        if not isinstance(_recorder, PrometheusRecorder):
            _recorder = PrometheusRecorder()
        return _recorder


class PrometheusRecorder(Recorder):
    """Records with ``prometheus_client``.

    In multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set.
    """

    enabled = True

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess = multiprocess_mode()
        # Multiprocess: samples go to files and a scrape reads them all; the objects
        # are registered nowhere. Else: a registry of saaskit's own, so a host's
        # default registry (and its names) is left alone.
        self.registry = CollectorRegistry()
        registry = None if self.multiprocess else self.registry

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Any:
            return Counter(PREFIX + name, doc, labels, registry=registry)

        def histogram(name: str, doc: str, labels: tuple[str, ...], buckets: Any) -> Any:
            return Histogram(PREFIX + name, doc, labels, registry=registry, buckets=buckets)

        self.requests = counter(
            "http_requests", "HTTP requests answered.", ("method", "route", "status")
        )
        self.latency = histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ("method", "route"),
            LATENCY_BUCKETS,
        )
        self.logins = counter("logins", "Login attempts by outcome.", ("outcome",))
        self.registrations = counter("registrations", "Users registered.")
        self.refreshes = counter("token_refreshes", "Refresh tokens presented.", ("outcome",))
        self.revocations = counter("session_revocations", "Sessions ended.", ("reason",))
        self.rate_limits = counter(
            "rate_limit_hits", "Requests refused by a rate limit.", ("rule",)
        )
        self.hash_depth = Gauge(
            PREFIX + "hash_queue_depth",
            "Password hashes waiting for a hashing thread.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.hash_wait = histogram(
            "hash_wait_seconds", "Wait for a hashing thread.", (), HASH_WAIT_BUCKETS
        )
        self.webhooks = counter("webhook_events", "Stripe events by status.", ("status",))
        self.webhook_lag = histogram(
            "webhook_lag_seconds",
            "From Stripe creating an event to processing it.",
            (),
            WEBHOOK_LAG_BUCKETS,
        )
        self.tasks = counter("tasks", "Background tasks by outcome.", ("task", "outcome"))
        self.ai = counter("ai_tokens", "AI tokens charged.", ("model", "kind"))
        self.store_errors = counter("store_errors", "Store (Redis) calls that failed.")
        self.database_errors = counter("database_errors", "Database statements that failed.")
        # (method, route, status) -> its counter and histogram: labels() locks and
        # validates on every call, a dict lookup does not. Bounded like the labels.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    @override
    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "other"  # a client picks it
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # first time for this method, route and status
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    @override
    def login(self, outcome: str) -> None:
        self.logins.labels(outcome).inc()

    @override
    def registration(self) -> None:
        self.registrations.inc()

    @override
    def refresh(self, outcome: str) -> None:
        self.refreshes.labels(outcome).inc()

    @override
    def revocation(self, reason: str, sessions: int = 1) -> None:
        if sessions > 0:
            self.revocations.labels(reason).inc(sessions)

    @override
    def rate_limited(self, rule: str) -> None:
        self.rate_limits.labels(rule).inc()

    @override
    def hash_queued(self) -> None:
        self.hash_depth.inc()

    @override
    def hash_started(self, waited: float) -> None:
        self.hash_depth.dec()
        self.hash_wait.observe(waited)

    @override
    def webhook(self, status: str, lag: float | None = None) -> None:
        self.webhooks.labels(status).inc()
        if lag is not None:
            self.webhook_lag.observe(max(lag, 0.0))

    @override
    def task(self, name: str, outcome: str) -> None:
        self.tasks.labels(name, outcome).inc()

    @override
    def ai_tokens(self, model: str, prompt: int, completion: int) -> None:
        self.ai.labels(model, "prompt").inc(prompt)
        self.ai.labels(model, "completion").inc(completion)

    @override
    def store_error(self) -> None:
        self.store_errors.inc()

    @override
    def database_error(self) -> None:
        self.database_errors.inc()

    def render(self) -> tuple[bytes, str]:
        """The page a scrape gets (every worker's samples in multiprocess mode)."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        registry = self.registry
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def process_exited(self, pid: int) -> None:
        """Drop a finished worker's live gauges (its counters still count)."""
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


class MetricsMiddleware:
    """Count and time every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, recorder: Recorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the request and time it, labelled by its route template."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_template(scope)
            self.recorder.request(scope["method"], route, status, time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The template of the route that answered (``/api/v1/users/{user_id}``).

    Read from what the router left in the scope; ``unmatched`` when no route matched.

    FastAPI keeps the full template of a route of an included router (prefixes and all)
    in its effective route context; a plain Starlette route has it as ``path_format``.
    """
    fastapi_scope = scope.get("fastapi")
    if isinstance(fastapi_scope, dict):
        context = fastapi_scope.get("effective_route_context")
        template = getattr(context, "path_format", None)
        if isinstance(template, str) and template:
            return template
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else "unmatched"


def authorized(settings: MetricsSettings, authorization: str | None) -> bool:
    """Whether a scrape may read the metrics page.

    Yes with no token configured (internal port only), or with ``Authorization: Bearer <token>``
    carrying the token (compared in constant time).
    """
    if settings.token is None:
        return True
    if not authorization:
        return False
    scheme, _, credentials = authorization.partition(" ")
    expected = settings.token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), expected
    )

"""OpenTelemetry tracing (``saaskit[otel]``), on with ``SAASKIT_TRACING__ENABLED=true``.

saaskit instruments; the host configures where spans go (a ``TracerProvider`` with an
exporter, set globally, or ``opentelemetry-instrument``). With tracing on:

- requests: the standard FastAPI/ASGI instrumentation (one server span per request,
  named by route template);
- database: the standard SQLAlchemy instrumentation on the kit's engine;
- store: the standard Redis instrumentation on the kit's Redis client;
- Stripe and OpenAI: a span per call (``stripe <action>``, ``openai chat``) around the
  standard httpx client spans;
- tasks: a span per task run (``task <name>``); the Celery runner sends the trace
  context with the task, so a worker's span is a child of the request that enqueued it.

With tracing off, :func:`span` returns a shared no-op context manager: nothing is
imported and nothing is recorded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from saaskit.exceptions import require_module

TRACER_NAME = "saaskit"
_NOTHING: AbstractContextManager[None] = nullcontext()
_tracer: Any = None


def enabled() -> bool:
    """Whether this process traces saaskit's work."""
    return _tracer is not None


def enable_tracing(engine: Any, redis_client: Any = None, tracer_provider: Any = None) -> None:
    """Trace a kit's database and store calls, and saaskit's own spans.

    Args:
        engine: the kit's ``AsyncEngine``.
        redis_client: the kit's ``redis.asyncio`` client, when its store is Redis.
        tracer_provider: where spans go (default: the global provider).

    Raises:
        MissingExtra: the OpenTelemetry packages are missing (``saaskit[otel]``).
    """
    global _tracer
    require_module("opentelemetry.instrumentation.sqlalchemy", "otel")
    from opentelemetry import metrics, trace
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    _tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)
    # The per-engine tracer of the standard instrumentation: several kits (engines) in
    # one process each get their own, which the instrumentor's singleton cannot do.
    EngineTracer(  # type: ignore[no-untyped-call]
        trace.get_tracer(
            "opentelemetry.instrumentation.sqlalchemy", tracer_provider=tracer_provider
        ),
        engine.sync_engine,
        connections_usage=metrics.get_meter(
            "opentelemetry.instrumentation.sqlalchemy"
        ).create_up_down_counter(
            name="db.client.connections.usage",
            unit="connections",
            description="Connections in the state the state attribute names.",
        ),
    )
    if redis_client is not None:
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        RedisInstrumentor.instrument_client(redis_client, tracer_provider=tracer_provider)


def instrument_app(
    app: Any,
    *,
    excluded_urls: str | None = None,
    http_clients: Sequence[Any] = (),
    tracer_provider: Any = None,
) -> None:
    """Trace ``app``'s requests (FastAPI) and the calls of ``http_clients`` (httpx).

    Args:
        app: the FastAPI app.
        excluded_urls: comma-separated paths not traced (the metrics page).
        http_clients: ``httpx`` clients whose requests get client spans (Stripe's).
        tracer_provider: where spans go (default: the global provider).
    """
    require_module("opentelemetry.instrumentation.fastapi", "otel")
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=tracer_provider, excluded_urls=excluded_urls
    )
    for client in http_clients:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=tracer_provider)


def span(name: str, attributes: Mapping[str, Any] | None = None) -> AbstractContextManager[Any]:
    """A span around saaskit's own work (a no-op when tracing is off)."""
    if _tracer is None:
        return _NOTHING
    span_cm: AbstractContextManager[Any] = _tracer.start_as_current_span(
        name, attributes=dict(attributes or {})
    )
    return span_cm


def inject() -> dict[str, str]:
    """The current trace context as headers (``traceparent``), to send with a task."""
    if _tracer is None:
        return {}
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def task_span(name: str, carrier: Mapping[str, str] | None = None) -> Iterator[None]:
    """The span of one task run.

    A child of the trace in ``carrier`` (from :func:`inject`) when there is one.
    """
    if _tracer is None:
        yield
        return
    from opentelemetry import propagate
    from opentelemetry.trace import SpanKind

    parent = propagate.extract(dict(carrier)) if carrier else None
    with _tracer.start_as_current_span(
        f"task {name}", context=parent, kind=SpanKind.CONSUMER, attributes={"saaskit.task": name}
    ):
        yield

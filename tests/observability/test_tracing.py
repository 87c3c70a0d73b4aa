"""OpenTelemetry: spans for the request, the database, the store, Stripe, OpenAI and the
task, exported to an in-memory exporter; the trace context travels with Celery tasks."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import saaskit.observability.tracing as tracing
from saaskit.tasks.celery import _in_context, _task_context
from saaskit.testing import FakeOpenAI, FakeStripe
from saaskit.testing.openai_pytest import fake_openai  # noqa: F401 - a fixture
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from tests.billing.helpers import add_prices, billing_settings
from tests.helpers import PASSWORD, TEST_REDIS_URL, KitFactory, client_for


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Spans of this test, from the process's SDK provider (set once: OpenTelemetry
    allows one global provider per process)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()
    tracing._tracer = None  # later tests run untraced


def named(spans: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.name.startswith(prefix)]


async def test_a_registration_is_traced_through_database_store_stripe_and_its_task(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
    fake_openai: FakeOpenAI,  # noqa: F811 - the fixture imported above
    spans: InMemorySpanExporter,
) -> None:
    add_prices(fake_stripe)
    kit = await make_kit(
        tracing={"enabled": True},
        billing=billing_settings(fake_stripe),
        ai=fake_openai.ai_settings(),
    )
    async with client_for(kit) as client:
        response = await client.post(
            "/api/v1/auth/register", json={"email": "trace@example.com", "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        await kit.runner.drain()
    user_id = response.json()["id"]
    await kit.ai.chat(user_id, [{"role": "user", "content": "Hello"}], max_tokens=16)

    server = [s for s in named(spans, "POST /api/v1/auth/register") if s.parent is None]
    assert len(server) == 1, [s.name for s in spans.get_finished_spans()]
    trace_id = server[0].context.trace_id
    in_request = [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]
    names = {s.name for s in in_request}
    database = [s for s in in_request if s.attributes and "db.system" in s.attributes]
    assert database, names  # INSERT the user, the audit event ...
    assert named(spans, "stripe create customer"), names
    stripe_http = [s for s in in_request if s.name.startswith("POST") and s is not server[0]]
    assert stripe_http, names  # the httpx client span under the Stripe span
    task = named(spans, "task email.verify")
    assert task
    assert task[0].context.trace_id == trace_id, "the task is in the request's trace"
    if TEST_REDIS_URL:
        assert any(s.attributes and s.attributes.get("db.system") == "redis" for s in in_request)
    openai = named(spans, "openai chat")
    assert openai
    assert openai[0].attributes
    assert openai[0].attributes["gen_ai.request.model"] == "gpt-4o-mini"


async def test_the_trace_context_travels_with_a_celery_task(
    make_kit: KitFactory, spans: InMemorySpanExporter
) -> None:
    await make_kit(tracing={"enabled": True})
    tracer = trace.get_tracer("tests")
    with tracer.start_as_current_span("enqueueing request") as parent:
        context = _task_context()  # what CeleryRunner.enqueue sends along
    assert "traceparent" in context

    async def work() -> None:
        pass

    await _in_context("email.reset", work(), context)  # in the worker

    [task] = named(spans, "task email.reset")
    assert task.context.trace_id == parent.get_span_context().trace_id
    assert task.parent is not None
    assert task.parent.span_id == parent.get_span_context().span_id


async def test_without_tracing_nothing_is_recorded(
    make_kit: KitFactory, spans: InMemorySpanExporter
) -> None:
    tracing._tracer = None
    kit = await make_kit()
    async with client_for(kit) as client:
        await client.post(
            "/api/v1/auth/register", json={"email": "quiet@example.com", "password": PASSWORD}
        )
        await kit.runner.drain()

    assert not tracing.enabled()
    # (FastAPI itself may trace requests when a provider is set; saaskit adds nothing.)
    ours = [
        s.name
        for s in spans.get_finished_spans()
        if s.name.startswith(("task ", "stripe ", "openai "))
        or (s.attributes and "db.system" in s.attributes)
    ]
    assert ours == []
    assert _task_context() == {}


async def test_without_the_otel_extra_the_error_names_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saaskit import SaaSKit
    from saaskit.exceptions import MissingExtra
    from tests.helpers import make_settings

    monkeypatch.setitem(sys.modules, "opentelemetry.instrumentation.sqlalchemy", None)

    with pytest.raises(MissingExtra, match=r"saaskit\[otel\]"):
        SaaSKit(make_settings(database_url, tracing={"enabled": True}))
    assert not tracing.enabled()


def test_a_celery_worker_writes_json_lines_when_the_settings_ask() -> None:
    import logging

    from saaskit.observability.logs import JsonFormatter
    from saaskit.tasks.celery import json_handlers

    logger = logging.getLogger("tests.celery-like")
    handler = logging.StreamHandler()
    logger.addHandler(handler)
    try:
        json_handlers(logger=logger)  # what Celery's after_setup_logger signal calls
        assert isinstance(handler.formatter, JsonFormatter)
    finally:
        logger.removeHandler(handler)

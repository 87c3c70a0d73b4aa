"""Request ids: taken from a valid X-Request-ID or made, returned, in error bodies, and on
every JSON log line of the request and of the tasks it causes."""

from __future__ import annotations

import json
import logging

import pytest

from saaskit import SaaSKit
from saaskit.models import User
from saaskit.observability.logs import JsonFormatter
from saaskit.tasks.celery import _in_context, _task_context
from tests.helpers import PASSWORD, client_for


class JsonLines(logging.Handler):
    """Formats every record as saaskit's JSON log lines would be."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def json_logs() -> object:
    handler = JsonLines()
    logger = logging.getLogger("saaskit")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


async def test_a_valid_request_id_is_returned_in_the_header_and_error_body(
    kit: SaaSKit[User],
) -> None:
    async with client_for(kit) as client:
        response = await client.get("/api/v1/users/me", headers={"X-Request-ID": "lb-42.a:b_c"})

    assert response.status_code == 401
    assert response.headers["x-request-id"] == "lb-42.a:b_c"
    assert response.json()["error"]["request_id"] == "lb-42.a:b_c"


@pytest.mark.parametrize(
    "forged",
    [
        "abc\r\nX-Admin: 1",
        'x", "level": "CRITICAL',
        "has space",
        "a" * 129,
        "",
        "é",
    ],
)
async def test_an_invalid_request_id_is_replaced_so_it_cannot_forge_log_lines(
    kit: SaaSKit[User], json_logs: JsonLines, forged: str
) -> None:
    async with client_for(kit) as client:
        response = await client.post(
            "/api/v1/auth/login",
            json={"email": "nobody@example.com", "password": PASSWORD},
            headers={b"X-Request-ID": forged.encode("utf-8")},
        )

    made = response.headers["x-request-id"]
    assert made != forged
    assert len(made) == 32
    assert all(c in "0123456789abcdef" for c in made)
    assert response.json()["error"]["request_id"] == made


async def test_a_request_and_the_task_it_enqueues_log_with_its_request_id(
    kit: SaaSKit[User], json_logs: JsonLines
) -> None:
    async with client_for(kit) as client:
        response = await client.post(
            "/api/v1/auth/register",
            json={"email": "alice@example.com", "password": PASSWORD},
            headers={"X-Request-ID": "signup-1"},
        )
        assert response.status_code == 201
        await kit.runner.drain()  # the verification email is a task
        other = await client.get("/health")

    email_lines = [
        line for line in json_logs.lines if "Email NOT delivered" in str(line["message"])
    ]
    assert email_lines, json_logs.lines
    assert {line["request_id"] for line in email_lines} == {"signup-1"}
    assert other.headers["x-request-id"] != "signup-1"


async def test_the_celery_task_context_carries_the_request_id_into_the_worker(
    json_logs: JsonLines,
) -> None:
    from saaskit.observability.requestid import REQUEST_ID

    token = REQUEST_ID.set("req-77")
    try:
        context = _task_context()  # what CeleryRunner.enqueue sends with the task
    finally:
        REQUEST_ID.reset(token)
    assert context["request_id"] == "req-77"

    async def task() -> None:
        logging.getLogger("saaskit.tasks").warning("sending the email")

    await _in_context("email.verify", task(), context)  # what the worker runs it in
    await _in_context("email.verify", task(), {"request_id": "bad id\nforged"})

    sent = [line for line in json_logs.lines if line["message"] == "sending the email"]
    assert [line.get("request_id") for line in sent] == ["req-77", None]

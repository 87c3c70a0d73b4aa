"""Typed task definitions: one name and payload type per task, JSON on the wire."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import ValidationError

from saaskit.billing.customers import CREATE_CUSTOMER, CREATE_TASK, CreateCustomer
from saaskit.billing.webhooks import PROCESS_EVENT, PROCESS_TASK, ProcessEvent
from saaskit.email import MemorySender
from saaskit.email.mailer import Mailer
from saaskit.email.rendering import EmailRenderer
from saaskit.settings import EmailSettings
from saaskit.tasks.definitions import (
    RESET_EMAIL,
    VERIFY_EMAIL,
    ResetEmail,
    VerifyEmail,
    email_tasks,
)
from saaskit.tasks.runner import InProcessRunner
from saaskit.tasks.typed import TaskDef, enqueue


class RecordingRunner:
    """A host's own runner: the untyped (name, JSON object) protocol only."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def enqueue(self, name: str, payload: dict[str, Any]) -> None:
        self.sent.append((name, json.loads(json.dumps(payload))))

    async def drain(self) -> None:
        """Nothing queued."""

    async def close(self) -> None:
        """Nothing to close."""


async def test_the_wire_format_is_the_json_object_of_the_fields() -> None:
    runner = RecordingRunner()
    await enqueue(runner, VERIFY_EMAIL, VerifyEmail(to="a@example.com", token="t"))
    await enqueue(runner, RESET_EMAIL, ResetEmail("b@example.com", "u", 30, name="Bo"))
    await enqueue(runner, CREATE_CUSTOMER, CreateCustomer("user", 7))
    await enqueue(runner, PROCESS_EVENT, ProcessEvent("evt_1"))
    assert runner.sent == [
        ("email.verify", {"to": "a@example.com", "token": "t", "name": None}),
        ("email.reset", {"to": "b@example.com", "token": "u", "minutes": 30, "name": "Bo"}),
        ("billing.create_customer", {"owner_kind": "user", "owner_id": 7}),
        ("billing.process_event", {"event_id": "evt_1"}),
    ]
    # The old constants still name the same tasks.
    assert (CREATE_TASK, PROCESS_TASK) == ("billing.create_customer", "billing.process_event")


def test_payloads_of_the_previous_release_still_decode() -> None:
    # Written by hand as before typed tasks: optional fields absent, numbers as text.
    assert RESET_EMAIL.decode({"to": "a@example.com", "token": "t", "minutes": "15"}) == (
        ResetEmail(to="a@example.com", token="t", minutes=15)
    )
    # A key this version does not know (from a newer producer) is ignored.
    assert VERIFY_EMAIL.decode({"to": "a@x.io", "token": "t", "later": 1}).to == "a@x.io"


def test_a_payload_missing_a_required_field_is_refused() -> None:
    with pytest.raises(ValidationError):
        RESET_EMAIL.decode({"to": "a@example.com", "token": "t"})


async def test_a_payload_of_another_task_is_refused_before_it_is_queued() -> None:
    runner = RecordingRunner()
    with pytest.raises(TypeError, match=r"email\.reset takes ResetEmail"):
        # mypy refuses this line too (the ignore below would be reported unused otherwise).
        await enqueue(runner, RESET_EMAIL, VerifyEmail("a@example.com", "t"))  # type: ignore[misc]
    assert runner.sent == []


async def test_a_host_task_runs_its_typed_handler_in_process() -> None:
    @dataclass(frozen=True)
    class Welcome:
        to: str
        name: str | None = None

    welcome = TaskDef("app.welcome", Welcome)
    seen: list[Welcome] = []

    async def send(payload: Welcome) -> None:
        seen.append(payload)

    runner = InProcessRunner({welcome.name: welcome.handler(send)})
    await enqueue(runner, welcome, Welcome("a@example.com"))
    await runner.drain()
    assert seen == [Welcome("a@example.com")]


async def test_the_email_tasks_send_from_their_payloads() -> None:
    sender = MemorySender()
    settings = EmailSettings()
    tasks = email_tasks(Mailer(sender, EmailRenderer(settings), settings))
    await tasks[RESET_EMAIL.name](RESET_EMAIL.encode(ResetEmail("a@example.com", "tok", 15)))
    [message] = sender.outbox
    assert message.to == "a@example.com"
    assert "tok" in message.text

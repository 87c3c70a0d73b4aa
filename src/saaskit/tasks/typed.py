"""Typed task definitions: one name and one payload type per task, in one place.

A task is declared once, as a :class:`TaskDef` pairing its name with a frozen dataclass
of its payload; callers enqueue it with :func:`enqueue`, which mypy checks against that
type, and its handler gets the decoded payload::

    @dataclass(frozen=True, slots=True)
    class Welcome:
        to: str
        name: str | None = None

    WELCOME = TaskDef("app.welcome", Welcome)

    kit.tasks[WELCOME.name] = WELCOME.handler(send_welcome)  # async (Welcome) -> None
    await enqueue(kit.runner, WELCOME, Welcome(to=user.email))

Wire format (unchanged from untyped tasks): a task travels as its name and a JSON
object whose keys are the payload's field names, e.g. ``("email.verify", {"to":
"a@example.com", "token": "...", "name": null})`` (in Celery, the ``args`` of the one
``saaskit.run`` task). Decoding validates the object with pydantic: a missing field
with a default takes it, unknown keys are ignored, so a field added with a default
stays readable by, and from, a worker one version apart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from saaskit.tasks.runner import TaskFunction, TaskRunner

P = TypeVar("P")


@dataclasses.dataclass(frozen=True)
class TaskDef(Generic[P]):
    """A task's name and the type of its payload.

    Args:
        name: the task name runners address it by (``"email.verify"``).
        payload: a dataclass whose fields are JSON values (str, int, float, bool,
            ``None``, lists and dicts of them, or types pydantic serializes as such).
    """

    name: str
    payload: type[P]

    @cached_property
    def _adapter(self) -> TypeAdapter[P]:
        return TypeAdapter(self.payload)

    def encode(self, payload: P) -> dict[str, Any]:
        """The JSON object ``payload`` travels as.

        Raises:
            TypeError: ``payload`` is not this task's payload type.
        """
        if not isinstance(payload, self.payload):
            raise TypeError(f"task {self.name} takes {self.payload.__name__}, not {payload!r}")
        encoded: dict[str, Any] = self._adapter.dump_python(payload, mode="json")
        return encoded

    def decode(self, data: Mapping[str, Any]) -> P:
        """The payload a received JSON object stands for.

        Raises:
            pydantic.ValidationError: ``data`` lacks a required field or has a wrong value.
        """
        return self._adapter.validate_python(dict(data))

    def handler(self, fn: Callable[[P], Awaitable[None]]) -> TaskFunction:
        """The runner-facing function (a JSON object in) that runs ``fn`` on the payload."""

        async def run(data: dict[str, Any]) -> None:
            await fn(self.decode(data))

        run.__qualname__ = f"task {self.name}"
        return run


async def enqueue(runner: TaskRunner, task: TaskDef[P], payload: P) -> None:
    """Queue ``task`` with ``payload`` on any runner (in-process, Celery or the host's).

    Raises:
        TypeError: ``payload`` is not ``task``'s payload type.
        KeyError: the runner's kit defines no task of that name.
        ServiceUnavailable: the queue cannot be reached.
    """
    await runner.enqueue(task.name, task.encode(payload))


__all__ = ["TaskDef", "enqueue"]

"""Background work: the task-runner protocol and the in-process runner.

Tasks are addressed by name with a JSON-able payload, so the same call works with an
in-process runner (default) and a distributed one (Celery, ``saaskit[celery]``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from saaskit.exceptions import SaaSKitError, ServiceUnavailable
from saaskit.observability.metrics import recorder
from saaskit.observability.tracing import task_span

logger = logging.getLogger("saaskit.tasks")

TaskFunction = Callable[[dict[str, Any]], Awaitable[None]]


class TransientError(SaaSKitError):
    """A failure worth retrying (a service that may come back)."""


RETRYABLE: tuple[type[BaseException], ...] = (TransientError, ServiceUnavailable, OSError)


class TaskRunner(Protocol):
    """Runs named tasks outside the request that asked for them."""

    async def enqueue(self, name: str, payload: dict[str, Any]) -> None:
        """Queue task ``name`` with its JSON ``payload``.

        This is the wire-level contract a runner implements; typed callers use
        :func:`saaskit.tasks.typed.enqueue`.

        Raises:
            KeyError: the kit defines no task ``name``.
            ServiceUnavailable: the queue cannot be reached (nothing was queued).
        """
        ...

    async def drain(self) -> None:
        """Wait for queued work (in-process: every task started so far)."""
        ...

    async def close(self) -> None:
        """Release the runner (in-process: after its tasks finished)."""
        ...


class InProcessRunner:
    """Runs tasks as asyncio tasks in this process, after the caller returns.

    Transient failures are retried with exponential backoff; a task that still fails
    is logged with its traceback. Work queued here is lost if the process dies: use
    the Celery runner where that matters.
    """

    def __init__(
        self, tasks: Mapping[str, TaskFunction], *, retries: int = 3, backoff: float = 0.5
    ) -> None:
        self.tasks = tasks
        self.retries = retries
        self.backoff = backoff
        self._running: set[asyncio.Task[None]] = set()
        self.closing = asyncio.Event()
        """Set when :meth:`close` starts: a task waiting on purpose (the seat job's
        debounce) stops waiting and finishes its work, so a shutdown does not wait it out."""

    async def enqueue(self, name: str, payload: dict[str, Any]) -> None:
        """Start the task on this event loop after the caller returns.

        Raises:
            KeyError: no task ``name`` is defined.
        """
        if name not in self.tasks:
            raise KeyError(f"unknown task {name!r}")
        task = asyncio.get_running_loop().create_task(self._run(name, payload))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, name: str, payload: dict[str, Any]) -> None:
        # Created in the caller's context: its request id and trace carry over.
        with task_span(name):
            await self._attempts(name, payload)

    async def _attempts(self, name: str, payload: dict[str, Any]) -> None:
        for attempt in range(self.retries + 1):
            try:
                await self.tasks[name](payload)
                recorder().task(name, "ok")
                return
            except RETRYABLE as error:
                if attempt == self.retries:
                    recorder().task(name, "failed")
                    logger.error(
                        "task %s failed after %d attempts", name, attempt + 1, exc_info=error
                    )
                    return
                delay = self.backoff * 2**attempt
                recorder().task(name, "retry")
                logger.warning("task %s failed (%s); retrying in %.1fs", name, error, delay)
                await asyncio.sleep(delay)
            except Exception:
                recorder().task(name, "failed")
                logger.exception("task %s failed", name)
                return

    async def drain(self) -> None:
        """Wait until every task started so far (and those they start) finished."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def close(self) -> None:
        """Wait for the running tasks (the app's lifespan calls it on shutdown).

        Sets :attr:`closing` first: tasks that only wait (a debounce) go on at once.
        """
        self.closing.set()
        try:
            await self.drain()
        finally:
            self.closing.clear()  # a runner started again (a new lifespan) debounces again

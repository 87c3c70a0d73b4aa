"""The Celery runner (``saaskit[celery]``): tasks go through a broker to ``saaskit worker``.

The app sends one generic Celery task, ``saaskit.run``, carrying a saaskit task name and
its JSON payload. A worker started with ``saaskit worker --app myapp.main:kit`` imports
the same kit and runs ``kit.tasks[name](payload)`` on its process's event loop (see
:mod:`saaskit.tasks.loop`). Transient failures (:data:`~saaskit.tasks.runner.RETRYABLE`)
are retried by Celery with exponential backoff, the payload travelling with each retry.

Delivery is at least once: a task is acknowledged only after it ran (``acks_late``), and
a worker that dies mid-task gives it back to the queue. Tasks must tolerate running
twice (emails may be sent twice; webhook events are processed idempotently).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from saaskit.exceptions import ServiceUnavailable, require_module
from saaskit.observability.metrics import recorder
from saaskit.observability.requestid import REQUEST_ID, valid_request_id
from saaskit.observability.tracing import inject, task_span
from saaskit.settings import SaaSKitSettings, TaskSettings
from saaskit.tasks.loop import ProcessLoop
from saaskit.tasks.runner import RETRYABLE, TaskFunction


class CeleryKit(Protocol):
    """What the Celery app runs tasks of (:class:`saaskit.SaaSKit` has it)."""

    @property
    def settings(self) -> SaaSKitSettings:
        """The settings of the broker, queue and retries (``tasks``)."""
        ...

    @property
    def tasks(self) -> Mapping[str, TaskFunction]:
        """The task functions a worker runs, by name."""
        ...

    @property
    def engine(self) -> AsyncEngine:
        """The database engine whose inherited connections a forked worker drops."""
        ...

    async def aclose(self) -> None:
        """Release the kit's pools and threads."""
        ...


logger = logging.getLogger("saaskit.tasks")

RUN_TASK = "saaskit.run"
"""The Celery task name every saaskit task is sent as."""

HARD_LIMIT_GRACE = 30.0
"""Seconds after ``task_time_limit`` (the task is cancelled) before a prefork child that
still does not return is killed by Celery."""

ENQUEUE_THREADS = 4


class BrokerNotConfigured(RuntimeError):
    """Celery tasks were asked for without a broker to send them through."""

    def __init__(self) -> None:
        super().__init__(
            "SAASKIT_TASKS__BACKEND is celery but no broker is configured; set "
            "SAASKIT_TASKS__BROKER_URL (e.g. redis://localhost:6379/1) or SAASKIT_REDIS_URL"
        )


def broker_url(settings: SaaSKitSettings) -> str:
    """The broker tasks go through: ``tasks.broker_url``, else ``redis_url``.

    Raises:
        BrokerNotConfigured: neither is set.
    """
    url = settings.tasks.broker_url or settings.redis_url
    if not url:
        raise BrokerNotConfigured()
    return url


def retry_delay(settings: TaskSettings, retries: int) -> float:
    """Seconds before retry number ``retries + 1``: doubling from ``retry_backoff``, capped."""
    return float(min(settings.retry_backoff * 2**retries, settings.retry_backoff_max))


def celery_config(settings: SaaSKitSettings) -> dict[str, Any]:
    """The Celery configuration of a kit's app (broker, queue, reliability, limits)."""
    tasks = settings.tasks
    timeout = tasks.broker_timeout
    return {
        "broker_url": broker_url(settings),
        "result_backend": tasks.result_backend,
        "task_ignore_result": tasks.result_backend is None,
        "task_default_queue": tasks.queue,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        # At least once: acknowledge after the task ran; a lost worker's task is redelivered.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # One task reserved per process, so N workers share a burst instead of one hoarding it.
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": timeout,
        "broker_transport_options": {
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            # Redis redelivers unacknowledged tasks after this; it must outlast the longest
            # retry countdown (held unacknowledged by a worker) plus a task's run time.
            "visibility_timeout": max(
                3600.0, 2 * (tasks.retry_backoff_max + tasks.task_time_limit)
            ),
        },
        # A refused connection is retried twice; an unanswered one fails after broker_timeout.
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        "task_time_limit": tasks.task_time_limit + HARD_LIMIT_GRACE,
        "enable_utc": True,
    }


def build_celery_app(kit: CeleryKit) -> Any:
    """A Celery app bound to ``kit``: its broker, its queue and the ``saaskit.run`` task.

    Used by :class:`CeleryRunner` to send tasks and by ``saaskit worker`` to run them;
    reach it as ``kit.celery_app``.

    Raises:
        MissingExtra: ``celery`` is not installed (``pip install 'saaskit[celery]'``).
        BrokerNotConfigured: no broker is configured.
    """
    require_module("celery", "celery")
    from celery import Celery, signals  # type: ignore[import-untyped]

    app = Celery(f"saaskit-{kit.settings.project_name}", set_as_current=False)
    app.conf.update(celery_config(kit.settings))
    loop = ProcessLoop(on_start=functools.partial(_forget_inherited_connections, kit))
    # shared=False: the task belongs to this app only; a shared task would be added to
    # every Celery app of the process, bound to the wrong kit.
    app.task(name=RUN_TASK, bind=True, shared=False, max_retries=kit.settings.tasks.max_retries)(
        _task_body(kit, loop)
    )
    if kit.settings.log.format == "json":
        # Celery sets up its own handlers when the worker starts; give them JSON lines.
        signals.after_setup_logger.connect(json_handlers, weak=False)
        signals.after_setup_task_logger.connect(json_handlers, weak=False)
    closer = _KitCloser(kit, loop)
    app.saaskit_closer = closer  # the signals below hold it weakly
    signals.worker_process_shutdown.connect(closer.on_shutdown)  # a prefork child exits
    signals.worker_shutdown.connect(closer.on_shutdown)  # the worker (solo, threads) exits
    return app


def json_handlers(logger: logging.Logger | None = None, **_: Any) -> None:
    """Make the handlers Celery set up on ``logger`` write saaskit's JSON lines."""
    from saaskit.observability.logs import JsonFormatter

    for handler in getattr(logger, "handlers", ()):
        handler.setFormatter(JsonFormatter())


def _task_body(kit: CeleryKit, loop: ProcessLoop) -> Any:
    settings = kit.settings.tasks

    def run(
        self: Any, name: str, payload: dict[str, Any], context: dict[str, str] | None = None
    ) -> None:
        task = kit.tasks.get(name)
        if task is None:
            logger.error(
                "task %s is not defined by this worker's kit (%s); is the worker running "
                "the app's kit, with the same settings?",
                name,
                ", ".join(sorted(kit.tasks)),
            )
            raise LookupError(f"unknown task {name!r}")
        retries: int = self.request.retries
        try:
            loop.run(_in_context(name, task(payload), context), timeout=settings.task_time_limit)
            recorder().task(name, "ok")
        except RETRYABLE as error:
            if retries >= settings.max_retries:
                recorder().task(name, "failed")
                logger.error("task %s failed after %d attempts: %s", name, retries + 1, error)
                raise
            delay = retry_delay(settings, retries)
            recorder().task(name, "retry")
            logger.warning(
                "task %s failed (%s); retry %d of %d in %.1fs",
                name,
                error,
                retries + 1,
                settings.max_retries,
                delay,
            )
            raise self.retry(
                exc=error,
                countdown=delay,
                max_retries=settings.max_retries,
                **_hidden_payload(name),
            ) from error
        except Exception:
            recorder().task(name, "failed")
            logger.exception("task %s failed (not retried)", name)
            raise

    return run


async def _in_context(name: str, work: Any, context: dict[str, str] | None) -> None:
    """Run ``work`` with the request id and trace of the request that enqueued it.

    The task loop's thread does not share the Celery thread's context.
    """
    context = context or {}
    request_id = context.get("request_id")
    token = REQUEST_ID.set(request_id if valid_request_id(request_id) else None)
    try:
        with task_span(name, context):
            await work
    finally:
        REQUEST_ID.reset(token)


def _task_context() -> dict[str, str]:
    """What a task carries from the request that enqueues it: its id and trace context."""
    context = inject()
    request_id = REQUEST_ID.get()
    if request_id:
        context["request_id"] = request_id
    return context


def _hidden_payload(name: str) -> dict[str, str]:
    """How a task's arguments are shown in Celery's logs and monitoring tools.

    Payloads carry tokens (reset links), so only the task name.
    """
    return {"argsrepr": f"({name!r}, ...)", "kwargsrepr": "{}"}


async def _forget_inherited_connections(kit: CeleryKit) -> None:
    # A forked child must not reuse pooled connections opened by its parent (SQLAlchemy's
    # advice for multiprocessing); close=False leaves them to the parent.
    await kit.engine.dispose(close=False)


class _KitCloser:
    """Closes the kit on the task loop when a worker process ends."""

    def __init__(self, kit: CeleryKit, loop: ProcessLoop) -> None:
        self.kit = kit
        self.loop = loop

    def on_shutdown(self, **_: Any) -> None:
        self.loop.stop(self.kit.aclose)


class CeleryRunner:
    """Sends tasks to Celery workers (``saaskit worker``) through the broker.

    ``enqueue`` returns once the broker holds the task, so a task that was accepted is
    not lost when the app process dies. Publishing is blocking I/O in Celery; it runs on
    a small thread pool so the event loop never waits for the broker.

    Args:
        app: the kit's Celery app (``kit.celery_app``).
        tasks: the task names the kit defines (checked at enqueue, as in-process).
        settings: ``settings.tasks`` (the queue).

    Example:
        ```python
        kit = SaaSKit(SaaSKitSettings(tasks={"backend": "celery"}, redis_url="redis://..."))
        await enqueue(kit.runner, PASSWORD_CHANGED_EMAIL, PasswordChangedEmail("a@example.com"))
        ```
    """

    def __init__(self, app: Any, tasks: Mapping[str, TaskFunction], settings: TaskSettings) -> None:
        require_module("celery", "celery")
        self.app = app
        self.tasks = tasks
        self.queue = settings.queue
        self._executor = ThreadPoolExecutor(ENQUEUE_THREADS, thread_name_prefix="saaskit-enqueue")

    async def enqueue(self, name: str, payload: dict[str, Any]) -> None:
        """Send ``name`` with ``payload`` to the queue.

        Raises:
            KeyError: the kit defines no task ``name``.
            ServiceUnavailable: the broker cannot be reached (the task was not queued).
        """
        from kombu.exceptions import OperationalError

        if name not in self.tasks:
            raise KeyError(f"unknown task {name!r}")
        send = functools.partial(
            self.app.send_task,
            RUN_TASK,
            args=(name, payload),
            kwargs={"context": _task_context()},
            queue=self.queue,
            **_hidden_payload(name),
        )
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, send)
        except (OperationalError, OSError) as error:
            logger.error("task %s could not be queued: %s", name, error)
            raise ServiceUnavailable() from error

    async def drain(self) -> None:
        """Nothing to wait for: an enqueued task is already in the broker."""

    async def close(self) -> None:
        """Release the publishing threads and the broker connections."""
        await asyncio.to_thread(self._executor.shutdown)
        self.app.close()

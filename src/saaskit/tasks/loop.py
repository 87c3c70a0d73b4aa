"""One asyncio event loop per worker process, for running async tasks from Celery.

Celery calls task functions synchronously, in a prefork child, the worker's main thread
(``--pool solo``) or one of its threads (``--pool threads``). saaskit's tasks are
coroutines that use the kit's database pool and Redis client, and those hold
connections bound to the event loop that opened them. ``asyncio.run`` per task would
give each task a new loop, so pooled connections from the previous task would be
unusable (or each task would have to open and close its own pools).

So each process gets one long-lived loop on a daemon thread, and every task of that
process, from any Celery thread, is submitted to it: pools stay warm and valid, and with
the threads pool several tasks interleave on the same loop. A process that was forked
after the loop started (a prefork child) notices the new pid and starts its own loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TypeVar

logger = logging.getLogger("saaskit.tasks")

T = TypeVar("T")
Hook = Callable[[], Awaitable[None]]


class ProcessLoop:
    """An event loop on a daemon thread, started on first use in each process.

    Args:
        on_start: awaited on the fresh loop before the first task of a process, e.g. to
            drop database connections a parent process opened before forking.
    """

    def __init__(self, on_start: Hook | None = None) -> None:
        self._on_start = on_start
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    @property
    def running(self) -> bool:
        """Whether this process has a live loop."""
        return self._loop is not None and self._pid == os.getpid()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is not None and self._pid == os.getpid():
                return self._loop
            # None, or a copy inherited through fork whose thread did not survive it.
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="saaskit-task-loop", daemon=True
            )
            thread.start()
            self._loop, self._thread, self._pid = loop, thread, os.getpid()
            if self._on_start is not None:
                try:
                    asyncio.run_coroutine_threadsafe(_call(self._on_start), loop).result()
                except Exception:
                    logger.exception("preparing the task loop failed")
            return loop

    def run(self, work: Awaitable[T], *, timeout: float | None = None) -> T:
        """Await ``work`` on this process's loop and wait for its result (in this thread).

        Raises:
            TimeoutError: it ran longer than ``timeout`` seconds (it is cancelled).
            Exception: whatever the coroutine raised.
        """
        loop = self._ensure()
        if threading.current_thread() is self._thread:
            if isinstance(work, Coroutine):
                work.close()
            raise RuntimeError("ProcessLoop.run() called from its own loop; await instead")
        future = asyncio.run_coroutine_threadsafe(_bounded(work, timeout), loop)
        return future.result()

    def stop(self, final: Hook | None = None, *, timeout: float = 10.0) -> None:
        """Await ``final`` on the loop (e.g. closing the kit), then stop it.

        A no-op when this process never started one.
        """
        with self._lock:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None or self._pid != os.getpid():
                return
            self._loop = self._thread = self._pid = None
        try:
            if final is not None:
                asyncio.run_coroutine_threadsafe(_call(final), loop).result(timeout)
        except Exception:
            logger.exception("closing the task loop failed")
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if not thread.is_alive():
                loop.close()


async def _call(hook: Hook) -> None:
    await hook()


async def _bounded(work: Awaitable[T], seconds: float | None) -> T:
    async with asyncio.timeout(seconds):
        return await work

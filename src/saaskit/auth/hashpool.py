"""Worker processes that hash passwords, shared by every kit in the process.

Why processes and not just threads: a hashing thread takes Python's GIL around every hash,
so with low-priority threads the event loop can end up waiting for the GIL held by a
thread that waits for a CPU (priority inversion), and ``SCHED_IDLE`` threads starve
outright while other programs keep every core busy (one registration took 53 s beside
two busy loops). A worker process shares no lock with the application and runs with
SCHED_IDLE (:mod:`saaskit.auth._hashworker`), so the event loop always wins the CPU.

SCHED_IDLE work can starve when other programs keep every core busy. A request that gets
no answer within ``max(2 s, 4 times the usual time)`` is therefore hashed in the calling
thread at normal priority instead, with a warning, and the starved worker is replaced:
under overload logins slow down but never hang.

The caller's thread (from the kit's small thread pool) writes one JSON line to an idle
worker and blocks, GIL released, until the answer comes back. A worker that dies is
replaced and the request retried once. If workers cannot be started at all, or a new
one exits before its first answer (``sys.executable`` is not a usable Python, as in some
embedding servers), hashing falls back to the calling thread, with one warning.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from saaskit.auth import _hashworker

logger = logging.getLogger("saaskit.auth")

WORKER = Path(_hashworker.__file__)
MIN_PATIENCE = 2.0  # seconds before a silent worker counts as starved
PATIENCE_FACTOR = 4.0  # ... or this many times the usual answer time, if longer


class WorkerDied(RuntimeError):
    """A hashing worker process exited while answering."""


class WorkerStarved(RuntimeError):
    """A hashing worker got no CPU time to answer in time."""


class _Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and file
            [sys.executable, "-P", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            close_fds=True,
        )
        pipes = self.process.stdin, self.process.stdout
        assert pipes[0] is not None
        assert pipes[1] is not None
        self.stdin = pipes[0].fileno()
        self.stdout = pipes[1].fileno()
        self.answered = 0

    def call(self, request: dict[str, Any], patience: float) -> dict[str, Any]:
        data = json.dumps(request).encode() + b"\n"
        deadline = time.monotonic() + patience
        chunks: list[bytes] = []
        try:
            while data:
                data = data[os.write(self.stdin, data) :]
            while not chunks or not chunks[-1].endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.stdout], [], [], left)[0]:
                    raise WorkerStarved(f"no answer within {patience:.1f} s")
                chunk = os.read(self.stdout, 65536)
                if not chunk:
                    raise WorkerDied(f"exit code {self.process.poll()}")
                chunks.append(chunk)
        except OSError as error:
            raise WorkerDied(str(error)) from error
        reply: dict[str, Any] = json.loads(b"".join(chunks))
        self.answered += 1
        return reply

    def close(self, *, kill: bool = False) -> None:
        try:
            if kill:
                self.process.kill()
            self.process.stdin.close()  # type: ignore[union-attr]
            self.process.stdout.close()  # type: ignore[union-attr]
            self.process.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()


class HashPool:
    """Up to ``size`` worker processes, started on demand."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._all: list[_Worker] = []
        self._size = 0
        self._pid = os.getpid()
        self._broken = False
        self._usual = 0.0  # moving average of answer times, seconds
        self._local_cache: dict[tuple[str, int], Any] = {}

    def reserve(self, size: int) -> None:
        """Allow at least ``size`` workers (a kit asks for one per hashing thread)."""
        with self._lock:
            self._size = max(self._size, size)

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer ``request`` in a worker; blocks the calling thread, not the event loop."""
        for attempt in (1, 2):
            worker = self._checkout()
            if worker is None:
                return self._here(request)
            started = time.monotonic()
            try:
                reply = worker.call(request, max(MIN_PATIENCE, PATIENCE_FACTOR * self._usual))
            except WorkerStarved as error:
                self._discard(worker, kill=True)
                logger.warning(
                    "Password hashing got no CPU time (%s): every core is busy; "
                    "hashing this one at normal priority.",
                    error,
                )
                return self._here(request)
            except WorkerDied as error:
                self._discard(worker)
                if not worker.answered:
                    # It never worked: ``sys.executable`` is not a usable Python here
                    # (an embedding server, say). Hash in threads from now on.
                    self._give_up(f"a new worker exited before answering ({error})")
                    return self._here(request)
                if attempt == 2:
                    raise
                logger.warning("A password-hashing worker died (%s); starting another.", error)
                continue
            took = time.monotonic() - started
            self._usual = took if not self._usual else 0.8 * self._usual + 0.2 * took
            self._idle.put(worker)
            return reply
        raise AssertionError("unreachable")  # pragma: no cover

    def _here(self, request: dict[str, Any]) -> dict[str, Any]:
        return _hashworker.handle(request, self._local_cache)

    def _checkout(self) -> _Worker | None:
        """An idle worker, a new one if there is room, else wait for one to come back."""
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                if self._broken:
                    return None
                if len(self._all) < max(self._size, 1):
                    try:
                        worker = _Worker()
                    except OSError as error:
                        self._give_up(str(error))
                        return None
                    self._all.append(worker)
                    return worker
            try:
                # Timed, so a waiter notices room left by a worker that was discarded.
                return self._idle.get(timeout=0.1)
            except queue.Empty:
                continue

    def _give_up(self, reason: str) -> None:
        self._broken = True  # a plain flag: once set, never cleared
        logger.warning(
            "Cannot use password-hashing worker processes (%s); hashing in threads instead.",
            reason,
        )

    def _discard(self, worker: _Worker, *, kill: bool = False) -> None:
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        worker.close(kill=kill)

    def close(self) -> None:
        """Stop every worker (at interpreter exit)."""
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.close()


_pool: HashPool | None = None
_pool_lock = threading.Lock()


def shared_pool() -> HashPool:
    """The process-wide pool; a forked child gets its own."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._pid != os.getpid():
            _pool = HashPool()
            atexit.register(_pool.close)
        return _pool

"""Holding a fake's calls: keep them waiting until the test releases them.

A test that must show something completes while a provider does not answer, or that
must have all its calls in flight at once, holds the fake instead of guessing a delay.
"""

from __future__ import annotations

import threading


class Holding:
    """The hold and release of :class:`FakeStripe` and :class:`FakeOpenAI` calls.

    A fake creates ``self._stopping`` (an event set when it stops: held calls then give
    up) and calls :meth:`_init_holding` in its constructor.
    """

    _stopping: threading.Event
    held: int
    """Calls that arrived while :meth:`hold` was in force."""

    def _init_holding(self) -> None:
        self._hold_lock = threading.Lock()
        self._holding = False
        self._released = threading.Event()
        self.held = 0

    def hold(self) -> None:
        """Keep every call that arrives from now on waiting until :meth:`release`.

        Held calls are counted in :attr:`held` and reach the fake's state only once
        released, so a test can show that something completes while the provider does not
        answer, or wait until all its calls are in flight at once, without a bound on
        how long anything took.
        """
        with self._hold_lock:
            self._released.clear()
            self._holding = True
            self.held = 0

    def release(self) -> None:
        """Let the held calls, and later ones, be answered."""
        with self._hold_lock:
            self._holding = False
            self._released.set()

    def _wait_if_held(self) -> bool:
        """Block a call while held; False if the fake is stopping meanwhile."""
        with self._hold_lock:
            if not self._holding:
                return True
            self.held += 1
        while not self._released.wait(0.05):
            if self._stopping.is_set():
                return False
        return True

"""Prove that blocking work runs beside the event loop, without measuring time.

Timing a loop's stalls flakes on a loaded machine (a descheduled test process looks like
a stalled loop); these checks ask the loop to run a callback while the blocking call is in
progress instead, which a loop that waits for the call cannot do.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tests.helpers import GUARD_SECONDS

T = TypeVar("T")


@dataclass(frozen=True)
class BlockingCall:
    on_loop_thread: bool
    loop_ran_meanwhile: bool


class BesideTheLoop:
    """Wraps a blocking function that must run off the event loop, and proves that it does.

    Each call records whether it ran on the loop's thread and, when it did not, waits
    (up to :data:`GUARD_SECONDS`) for the loop to run a callback while the call is in
    progress: a loop that waited for the call could not. No timing is measured.
    """

    def __init__(self, fn: Callable[..., T], loop: asyncio.AbstractEventLoop) -> None:
        self.fn = fn
        self.loop = loop
        self.loop_thread = threading.get_ident()  # built on the loop's thread
        self.calls: list[BlockingCall] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        on_loop = threading.get_ident() == self.loop_thread
        ran = False
        if not on_loop:
            tick = threading.Event()
            self.loop.call_soon_threadsafe(tick.set)
            ran = tick.wait(GUARD_SECONDS)
        self.calls.append(BlockingCall(on_loop_thread=on_loop, loop_ran_meanwhile=ran))
        return self.fn(*args, **kwargs)

    def assert_ran_beside_the_loop(self) -> None:
        assert self.calls, "the blocking function was never called"
        for call in self.calls:
            assert not call.on_loop_thread, "a blocking call ran on the event loop's thread"
            assert call.loop_ran_meanwhile, "the event loop was stalled during a blocking call"

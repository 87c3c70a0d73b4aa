"""Watch the event loop for stalls while some work runs.

The cyclic garbage collector is paused while watching: late in a full test run the
process holds over a million objects (FastAPI keeps up to 4096 endpoint functions in
its callable caches, and with them dozens of test kits), and one generation-2 pass
then stops every thread for 0.2-1 s (measured). That pause is the test process's,
not the code under test's, and it would be counted as a stall.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class LoopWatch:
    ticks: list[float] = field(default_factory=list)
    started: float = 0.0

    @property
    def gaps(self) -> list[float]:
        """Time between consecutive ticks of a 10 ms ticker, seconds."""
        return [later - earlier for earlier, later in itertools.pairwise(self.ticks)]

    @property
    def ticks_since_start(self) -> int:
        return sum(1 for tick in self.ticks if tick >= self.started)


@asynccontextmanager
async def watch_loop() -> AsyncIterator[LoopWatch]:
    """Tick every 10 ms on the running loop; ``watch.started`` marks the watched work."""
    watch = LoopWatch()
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            watch.ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    task = asyncio.create_task(ticker())
    try:
        await asyncio.sleep(0.02)
        watch.started = time.perf_counter()
        yield watch
    finally:
        stop.set()
        await task
        if was_enabled:
            gc.enable()

"""Coalesce concurrent MGETs into one Redis round trip.

Every protected request reads its session and cached user with one MGET. Under load,
many requests reach that point in the same event-loop turn; instead of one command
each, they are queued and sent as a single MGET on the next turn, and each caller gets
its own slice of the answer. This cuts the client-side cost per request (command
packing, connection checkout, reply parsing), which dominates on a busy single-core
worker, while a lone request only waits for the current loop turn to finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

Fetch = Callable[[list[str]], Awaitable[list[bytes | None]]]


class MgetBatcher:
    """Batches ``get_many`` calls issued in the same loop turn into one ``fetch``."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._pending: list[tuple[Sequence[str], asyncio.Future[list[bytes | None]]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Values of ``keys``, read together with the other reads of this loop turn."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[bytes | None]] = loop.create_future()
        self._pending.append((keys, future))
        if len(self._pending) == 1:
            loop.call_soon(self._flush, loop)
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self._pending = self._pending, []
        task = loop.create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self, batch: list[tuple[Sequence[str], asyncio.Future[list[bytes | None]]]]
    ) -> None:
        keys = [key for wanted, _ in batch for key in wanted]
        try:
            values = await self._fetch(keys)
        except BaseException as error:  # every waiter gets the failure, nobody hangs
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        start = 0
        for wanted, future in batch:
            if not future.done():
                future.set_result(values[start : start + len(wanted)])
            start += len(wanted)

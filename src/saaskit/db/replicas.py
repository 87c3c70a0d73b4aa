"""Reads that may lag go to a read replica; a replica that fails sends them to the primary.

A streaming replica replays the primary's writes a little later (milliseconds, seconds
under load). That is fine for screens that list or summarise (the admin's user list,
the audit trail, AI usage), and wrong for anything that must see its own writes: login
right after registration, refresh, webhook processing, a quota check, anything inside a
transaction. So services choose per query: they use the primary's session factory as
before, and call :meth:`ReadRouter.run` only for the lag-tolerant reads.

Failing over is the router's job, not the caller's: a replica that refuses a connection,
drops it mid-query or times out is skipped for ``db.replica_retry_seconds`` and the read
is run again on the primary (a read is safe to repeat), so a replica outage costs
latency, never an error response.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

logger = logging.getLogger("saaskit.db")

T = TypeVar("T")
ReadWork = Callable[[AsyncSession], Awaitable[T]]


@dataclass
class Replica:
    """One replica engine and when it may be tried again after a failure."""

    engine: AsyncEngine
    down_until: float = 0.0


class ReadRouter:
    """Runs lag-tolerant reads on a healthy replica, else on the primary.

    Example:
        ```python
        from sqlalchemy import func, select

        async def count_users(db: AsyncSession) -> int:
            return int(await db.scalar(select(func.count()).select_from(User)) or 0)

        total = await kit.reads.run(count_users)  # a replica if one answers
        ```

    Args:
        primary: the primary's engine (every read falls back to it).
        replicas: engines of the read replicas; none means every read goes to the primary.
        retry_seconds: how long a failed replica is skipped.
        clock: monotonic seconds (injected by tests).
    """

    def __init__(
        self,
        primary: AsyncEngine,
        replicas: Sequence[AsyncEngine] = (),
        *,
        retry_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.replicas = [Replica(engine) for engine in replicas]
        self.retry_seconds = retry_seconds
        self.clock = clock
        self._turn = -1

    def healthy(self) -> list[Replica]:
        """Replicas not marked down (or whose time out is over)."""
        now = self.clock()
        return [replica for replica in self.replicas if replica.down_until <= now]

    async def run(self, work: ReadWork[T]) -> T:
        """``await work(session)`` on a replica; on the primary if none answers.

        ``work`` must only read: it may run twice (once on a replica that failed
        half-way, then on the primary). Errors that are not about the connection
        (a bad query) are raised as they are.
        """
        candidates = self.healthy()
        if candidates:
            self._turn += 1  # round robin over the healthy replicas
            replica = candidates[self._turn % len(candidates)]
            try:
                return await self._on(replica.engine, work)
            except (DBAPIError, OSError, TimeoutError) as error:
                if not _connection_failed(error):
                    raise
                replica.down_until = self.clock() + self.retry_seconds
                logger.warning(
                    "read replica %s failed (%s); its reads go to the primary for %ss",
                    replica.engine.url.render_as_string(hide_password=True),
                    type(error).__name__,
                    self.retry_seconds,
                )
        return await self._on(self.primary, work)

    @staticmethod
    async def _on(engine: AsyncEngine, work: ReadWork[T]) -> T:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            return await work(session)

    async def dispose(self) -> None:
        """Close the replicas' pools (the primary's belongs to the kit)."""
        for replica in self.replicas:
            await replica.engine.dispose()


def _connection_failed(error: BaseException) -> bool:
    """Whether ``error`` says the replica (or the way to it) failed, not the query."""
    if isinstance(error, OSError | TimeoutError):
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated or isinstance(error, OperationalError | InterfaceError):
            return True
        # asyncpg's "cannot connect now" (starting up, shutting down) and admin shutdown
        # arrive as other DBAPIError classes; their SQLSTATE class 57P / 08 says it.
        code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        return isinstance(code, str) and code[:2] in {"08", "57"}
    return False

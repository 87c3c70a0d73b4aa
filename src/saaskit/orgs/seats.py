"""The subscription quantity of a per-seat organization follows its seat count.

Never an increment or a decrement of a stored count: after a membership change the
``orgs.sync_seats`` task recounts the seats and sets the **absolute** quantity on
Stripe (nothing is sent when it is already right, so running it again is harmless). One
run per organization at a time: a run holds a store lock; a change during a run leaves a
"dirty" mark that the running job picks up before it lets go.

Debounced in time: at most one quantity update per organization every
``orgs.seat_sync_interval_seconds`` (60 by default, so at most 60 an hour; Stripe allows
about 200 quantity updates per subscription per hour). A change that comes sooner waits
in the running job until the interval has passed; every change made meanwhile goes into
that one update, which sets the count as it is then. The
``customer.subscription.updated`` webhook that follows updates the local row.

Plans with manual seats (``seat_mode: manual``) are left alone: their quantity is what
the organization bought, and it is the seat limit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from saaskit.orgs.service import OrgService
from saaskit.store import Store
from saaskit.tasks.runner import TaskRunner
from saaskit.types import Owner

__all__ = ["SEATS_TASK", "SeatSync"]

SEATS_TASK = "orgs.sync_seats"
"""The task that sets an organization's subscription quantity to its seat count."""

LOCK_SECONDS = 120
"""How long a run's lock outlives its wait for the interval (a crashed run lets go)."""


class QuantityGateway(Protocol):
    """A payment gateway that can set a subscription's quantity (``StripeGateway``)."""

    async def set_quantity(
        self, subscription_id: str, quantity: int, *, proration_behavior: str
    ) -> bool | None: ...


class SeatSync:
    """Queues and runs the quantity job of each organization.

    Args:
        service: the organizations service (seat count, settings).
        billing: the billing service (plans, gateway).
        store: the kit's store (lock, dirty mark, time of the last update).
        runner: the kit's task runner.
        clock: seconds since the epoch (``time.time``); tests pass their own.
        sleep: waits that many seconds (``asyncio.sleep``); tests pass their own.
    """

    def __init__(
        self,
        service: OrgService,
        billing: Any,
        store: Store,
        runner: TaskRunner,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.service = service
        self.billing = billing
        self.store = store
        self.runner = runner
        self.clock = clock
        self.sleep = sleep

    @property
    def interval(self) -> int:
        """Seconds between two quantity updates of one organization."""
        return int(self.service.settings.seat_sync_interval_seconds)

    async def request(self, org_id: int) -> None:
        """Mark the organization's seats as changed and queue the job."""
        await self._mark(org_id)
        await self.runner.enqueue(SEATS_TASK, {"organization_id": org_id})

    async def _mark(self, org_id: int) -> None:
        await self.store.put(_dirty(org_id), b"1", self._lock_seconds() * 5)

    async def task(self, payload: dict[str, Any]) -> None:
        """The ``orgs.sync_seats`` task."""
        await self.run(int(payload["organization_id"]))

    async def run(self, org_id: int) -> None:
        """Sync until no change is left unsynced (or another run holds the lock)."""
        while True:
            if not await self.store.claim(_lock(org_id), self._lock_seconds()):
                return  # the running job sees the dirty mark
            try:
                while await self.store.get(_dirty(org_id)) is not None:
                    await self._wait_for_interval(org_id)
                    # Changes until here are counted by this sync; later ones mark again.
                    await self.store.delete(_dirty(org_id))
                    try:
                        sent = await self._update(org_id)
                    except Exception:
                        # Stripe failed: the change is still to sync (the retry sees it).
                        await self._mark(org_id)
                        raise
                    if sent:
                        await self.store.put(
                            _last(org_id), repr(self.clock()).encode(), self.interval + 60
                        )
            finally:
                await self.store.delete(_lock(org_id))
            if await self.store.get(_dirty(org_id)) is None:
                return

    async def sync(self, org_id: int) -> int | None:
        """Set the quantity of the organization's entitled subscription to its seat count.

        Not debounced (:meth:`run` is); used by the job and by operators.

        Returns:
            The quantity asked for (``None``: no entitled subscription, manual seats, or
            a gateway without quantities).
        """
        found = await self._sync(org_id)
        return None if found is None else found[0]

    async def _update(self, org_id: int) -> bool:
        found = await self._sync(org_id)
        return found is not None and found[1]

    async def _sync(self, org_id: int) -> tuple[int, bool] | None:
        """The quantity asked for and whether an update was sent; ``None``: nothing to do."""
        catalog = self.billing.catalog
        current = await catalog.current(Owner("organization", org_id))
        gateway = self.billing.gateway
        if current is None or not catalog.is_entitled(current.status):
            return None
        plan = catalog.get(current.plan) if current.plan else None
        if plan is not None and plan.seat_mode == "manual":
            return None  # the bought quantity is the limit; never changed here
        if not hasattr(gateway, "set_quantity"):
            return None
        quantity = max(1, await self.service.seat_count(org_id))
        quantity_gateway: QuantityGateway = gateway
        sent = await quantity_gateway.set_quantity(
            current.stripe_subscription_id,
            quantity,
            proration_behavior=self.service.settings.proration_behavior,
        )
        return quantity, sent is not False

    async def _wait_for_interval(self, org_id: int) -> None:
        raw = await self.store.get(_last(org_id))
        if raw is None or not self.interval:
            return
        try:
            last = float(raw)
        except ValueError:
            return
        wait = last + self.interval - self.clock()
        if wait > 0:
            await self._pause(min(wait, float(self.interval)))

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the in-process runner is closing.

        A shutdown then sends the pending update now (one update sooner than the
        interval) instead of waiting it out, or losing it: the process may not come back
        before the next membership change.
        """
        closing: asyncio.Event | None = getattr(self.runner, "closing", None)
        if closing is None:
            await self.sleep(seconds)
            return
        if closing.is_set():
            return
        sleeper = asyncio.ensure_future(self.sleep(seconds))
        stopper = asyncio.ensure_future(closing.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in (sleeper, stopper):
                waiting.cancel()

    def _lock_seconds(self) -> int:
        return LOCK_SECONDS + self.interval


def _lock(org_id: int) -> str:
    return f"orgs:seats:lock:{org_id}"


def _dirty(org_id: int) -> str:
    return f"orgs:seats:dirty:{org_id}"


def _last(org_id: int) -> str:
    return f"orgs:seats:last:{org_id}"

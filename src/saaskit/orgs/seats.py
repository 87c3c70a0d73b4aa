"""The subscription quantity of a per-seat organization follows its seat count.

Never an increment or a decrement of a stored count: after a membership change the
``orgs.sync_seats`` task recounts the seats and sets the **absolute** quantity on Stripe
(nothing is sent when it is already right, so running it again is harmless). One run per
organization at a time: a run holds a store lock; a change during a run leaves a "dirty"
mark that the running job picks up before it lets go, so bursts of changes coalesce into
few Stripe updates (Stripe allows about 200 quantity updates per subscription per hour).
The ``customer.subscription.updated`` webhook that follows updates the local row.
"""

from __future__ import annotations

from typing import Any, Protocol

from saaskit.orgs.service import OrgService
from saaskit.store import Store
from saaskit.tasks.runner import TaskRunner
from saaskit.types import Owner

__all__ = ["SEATS_TASK", "SeatSync"]

SEATS_TASK = "orgs.sync_seats"
"""The task that sets an organization's subscription quantity to its seat count."""

LOCK_SECONDS = 120


class QuantityGateway(Protocol):
    """A payment gateway that can set a subscription's quantity (``StripeGateway``)."""

    async def set_quantity(
        self, subscription_id: str, quantity: int, *, proration_behavior: str
    ) -> None: ...


class SeatSync:
    """Queues and runs the quantity job of each organization.

    Args:
        service: the organizations service (seat count).
        billing: the billing service (plans, gateway).
        store: the kit's store (lock and dirty mark).
        runner: the kit's task runner.
    """

    def __init__(self, service: OrgService, billing: Any, store: Store, runner: TaskRunner) -> None:
        self.service = service
        self.billing = billing
        self.store = store
        self.runner = runner

    async def request(self, org_id: int) -> None:
        """Mark the organization's seats as changed and queue the job."""
        await self.store.put(_dirty(org_id), b"1", LOCK_SECONDS * 5)
        await self.runner.enqueue(SEATS_TASK, {"organization_id": org_id})

    async def task(self, payload: dict[str, Any]) -> None:
        """The ``orgs.sync_seats`` task."""
        await self.run(int(payload["organization_id"]))

    async def run(self, org_id: int) -> None:
        """Sync until no change is left unsynced (or another run holds the lock)."""
        while True:
            if not await self.store.claim(_lock(org_id), LOCK_SECONDS):
                return  # the running job sees the dirty mark
            try:
                while await self.store.delete(_dirty(org_id)):
                    await self.sync(org_id)
            finally:
                await self.store.delete(_lock(org_id))
            if await self.store.get(_dirty(org_id)) is None:
                return

    async def sync(self, org_id: int) -> int | None:
        """Set the quantity of the organization's entitled subscription to its seat count.

        Returns:
            The quantity set (``None``: no entitled subscription, or a gateway without
            quantities).
        """
        catalog = self.billing.catalog
        current = await catalog.current(Owner("organization", org_id))
        gateway = self.billing.gateway
        if current is None or not catalog.is_entitled(current.status):
            return None
        if not hasattr(gateway, "set_quantity"):
            return None
        quantity = max(1, await self.service.seat_count(org_id))
        quantity_gateway: QuantityGateway = gateway
        await quantity_gateway.set_quantity(
            current.stripe_subscription_id,
            quantity,
            proration_behavior=self.service.settings.proration_behavior,
        )
        return quantity


def _lock(org_id: int) -> str:
    return f"orgs:seats:lock:{org_id}"


def _dirty(org_id: int) -> str:
    return f"orgs:seats:dirty:{org_id}"

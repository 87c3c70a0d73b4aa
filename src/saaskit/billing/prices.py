"""Prices of the configured plans, read from Stripe and cached in the store."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence

from saaskit.billing.gateway import BillingGateway, is_price_id
from saaskit.billing.plans import PlanCatalog
from saaskit.billing.types import Price
from saaskit.exceptions import BillingRejected, SaaSKitError, UnknownPlan
from saaskit.store import Store

logger = logging.getLogger("saaskit.billing")

# A price Stripe does not know is remembered briefly, so a pricing page hit by many
# visitors does not ask Stripe again for each one.
MISSING_TTL = 60


def _cache_key(ref: str) -> str:
    return f"billing:price:{ref}"


class PriceBook:
    """Looks up the Stripe prices named by plans (ids or lookup keys)."""

    def __init__(
        self, catalog: PlanCatalog, gateway: BillingGateway, store: Store, ttl: int
    ) -> None:
        self.catalog = catalog
        self.gateway = gateway
        self.store = store
        self.ttl = ttl

    async def lookup(self, refs: Sequence[str]) -> dict[str, Price | None]:
        """Prices by ref; ``None`` for refs Stripe does not know. Raises on outages."""
        found: dict[str, Price | None] = {}
        cached = await self.store.get_many([_cache_key(ref) for ref in refs]) if self.ttl else []
        for ref, raw in zip(refs, cached, strict=False):
            if raw is not None:
                data = json.loads(raw)
                found[ref] = Price(**data) if data else None
        missing = [ref for ref in refs if ref not in found]
        if missing:
            fetched = await self.gateway.get_prices(missing)
            for ref in missing:
                price = fetched.get(ref)
                found[ref] = price
                if self.ttl:
                    value = json.dumps(dataclasses.asdict(price) if price else None).encode()
                    await self.store.put(
                        _cache_key(ref), value, self.ttl if price else min(self.ttl, MISSING_TTL)
                    )
        return found

    async def for_plans(self) -> dict[str, Price | None]:
        """The price of every paid plan; ``None`` where Stripe cannot say (logged)."""
        refs = {key: plan.price for key, plan in self.catalog.plans.items() if plan.price}
        try:
            prices = await self.lookup(sorted(set(refs.values())))
        except SaaSKitError as error:
            logger.warning("plan prices unavailable from Stripe (%s)", error.code)
            return dict.fromkeys(refs)
        return {key: prices.get(ref) for key, ref in refs.items()}

    async def price_id(self, plan_key: str) -> str:
        """The Stripe price id to check out ``plan_key`` with."""
        plan = self.catalog.get(plan_key)
        if plan is None or not plan.price:
            raise UnknownPlan(self.catalog.unknown_plan_message())
        if is_price_id(plan.price):
            return plan.price
        price = (await self.lookup([plan.price]))[plan.price]
        if price is None or not price.active:
            logger.error(
                "plan %r: Stripe has no active price with lookup key %r", plan_key, plan.price
            )
            raise BillingRejected()
        return price.id

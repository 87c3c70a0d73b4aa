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
        """The default price of every paid plan; ``None`` where Stripe cannot say (logged)."""
        every = await self.all_for_plans()
        return {key: self.default_of(key, prices) for key, prices in every.items()}

    def default_of(self, key: str, prices: list[Price]) -> Price | None:
        """Of ``prices`` (plan ``key``'s), the one its ``price`` setting names, if found."""
        ref = self.catalog.refs(key)[0]
        return next((price for price in prices if ref in (price.id, price.lookup_key)), None)

    async def all_for_plans(self) -> dict[str, list[Price]]:
        """Every known price of every paid plan, in the plan's order (default first).

        Prices Stripe does not know are left out; when Stripe cannot be asked, every paid
        plan has an empty list (logged).
        """
        refs = {key: self.catalog.refs(key) for key in self.catalog.paid()}
        try:
            prices = await self.lookup(sorted({ref for group in refs.values() for ref in group}))
        except SaaSKitError as error:
            logger.warning("plan prices unavailable from Stripe (%s)", error.code)
            return {key: [] for key in refs}
        return {
            key: [price for ref in group if (price := prices.get(ref)) is not None]
            for key, group in refs.items()
        }

    async def price_id(
        self, plan_key: str, *, interval: str | None = None, currency: str | None = None
    ) -> str:
        """The Stripe price id to check out ``plan_key`` with.

        Without ``interval`` and ``currency`` it is the plan's ``price``; with them, the
        first of the plan's active prices (``price``, then ``prices``) that matches both.

        Raises:
            UnknownPlan: no such paid plan, or none of its prices matches.
            BillingRejected: the plan's default lookup key names no active price.
        """
        refs = self.catalog.refs(plan_key)
        if not refs:
            raise UnknownPlan(self.catalog.unknown_plan_message())
        if interval is None and currency is None:
            return await self._default_price_id(plan_key, refs[0])
        prices = await self.lookup(refs)
        offered = [price for ref in refs if (price := prices.get(ref)) and price.active]
        for price in offered:
            if interval in (None, price.interval) and currency in (None, price.currency):
                return price.id
        choices = ", ".join(f"{p.interval or 'once'} {p.currency}" for p in offered)
        raise UnknownPlan(
            "This plan has no price for that interval and currency; "
            f"it is offered as: {choices or 'nothing at the moment'}."
        )

    async def _default_price_id(self, plan_key: str, ref: str) -> str:
        if is_price_id(ref):
            return ref
        price = (await self.lookup([ref]))[ref]
        if price is None or not price.active:
            logger.error("plan %r: Stripe has no active price with lookup key %r", plan_key, ref)
            raise BillingRejected()
        return price.id

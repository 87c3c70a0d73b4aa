"""Stripe customers: one per user, created at registration or at the first billing action.

Two guards keep it at one even under concurrency and retries: the create call carries an
idempotency key derived from the user (Stripe answers a repeat with the same customer),
and a store lock per user plus a conditional ``UPDATE ... WHERE stripe_customer_id IS
NULL`` make sure only one id is ever written.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Generic

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from saaskit.billing.gateway import BillingGateway
from saaskit.billing.locks import store_lock
from saaskit.exceptions import BillingRejected, SaaSKitError, UserNotFound
from saaskit.store import Store
from saaskit.types import ClientInfo, UserT
from saaskit.users.service import UserService

logger = logging.getLogger("saaskit.billing")

# Stripe keeps idempotency keys for 24 hours; a generation counter that outlives them
# lets a user get a new customer after theirs was deleted in Stripe.
GENERATION_TTL = 25 * 3600


class CustomerManager(Generic[UserT]):
    """Finds or creates the Stripe customer of a user."""

    def __init__(
        self,
        users: UserService[UserT],
        gateway: BillingGateway,
        store: Store,
        *,
        register_timeout: float = 10.0,
    ) -> None:
        self.users = users
        self.gateway = gateway
        self.store = store
        # Registration waits at most this long for Stripe; the customer is then created
        # later (same idempotency key, so a call that did reach Stripe is not repeated).
        self.register_timeout = register_timeout

    async def _user(self, user_id: int) -> UserT:
        user = await self.users.get(user_id)  # the database, not the cache: ids change here
        if user is None:
            raise UserNotFound()
        return user

    async def idempotency_key(self, user: UserT) -> str:
        """``saaskit-customer-{id}-{created}[-{generation}]``: stable for one user, distinct
        after a database reset reuses the id (different ``created_at``)."""
        created = int(user.created_at.timestamp()) if user.created_at else 0
        key = f"saaskit-customer-{user.id}-{created}"
        generation = await self.store.get(f"billing:customer-generation:{user.id}")
        return f"{key}-{generation.decode()}" if generation else key

    async def ensure(self, user_id: int) -> str:
        """The user's Stripe customer id, creating the customer if there is none yet."""
        user = await self._user(user_id)
        if user.stripe_customer_id:
            return user.stripe_customer_id
        async with store_lock(self.store, f"billing:customer-lock:{user_id}"):
            user = await self._user(user_id)
            if user.stripe_customer_id:
                return user.stripe_customer_id
            customer_id = await self.gateway.create_customer(
                email=user.email,
                name=user.full_name,
                user_id=user.id,
                idempotency_key=await self.idempotency_key(user),
            )
            return await self._store(user_id, customer_id)

    async def _store(self, user_id: int, customer_id: str) -> str:
        model = self.users.model
        async with self.users.session_factory() as db:
            try:
                result = await db.execute(
                    update(model)
                    .where(model.id == user_id, model.stripe_customer_id.is_(None))
                    .values(stripe_customer_id=customer_id)
                )
                await db.commit()
            except IntegrityError as error:
                # Another user already holds this customer: never share one.
                logger.error("stripe customer %s already belongs to another user", customer_id)
                raise BillingRejected() from error
        await self.users.invalidate(user_id)
        if getattr(result, "rowcount", 0) == 1:
            logger.info("stripe customer %s created for user %s", customer_id, user_id)
            return customer_id
        return (await self._user(user_id)).stripe_customer_id or customer_id

    async def on_register(self, user: UserT, client: ClientInfo) -> None:
        """``after_register`` hook: create the customer; an outage only postpones it."""
        try:
            user.stripe_customer_id = await asyncio.wait_for(
                self.ensure(user.id), self.register_timeout
            )
        except (SaaSKitError, TimeoutError) as error:
            logger.warning(
                "stripe customer for user %s not created at registration (%s); it will be "
                "created at the first billing action",
                user.id,
                getattr(error, "code", "timeout"),
            )

    async def forget(self, customer_id: str) -> list[int]:
        """Unlink a customer deleted in Stripe from its user; returns the user ids."""
        model = self.users.model
        async with self.users.session_factory() as db:
            rows = await db.scalars(
                update(model)
                .where(model.stripe_customer_id == customer_id)
                .values(stripe_customer_id=None)
                .returning(model.id)
            )
            user_ids = list(rows)
            await db.commit()
        for user_id in user_ids:
            await self.store.incr(f"billing:customer-generation:{user_id}", 1, GENERATION_TTL)
            await self.users.invalidate(user_id)
        return user_ids

"""Stripe customers: one per billing owner, created the first time billing needs one.

Like Laravel Cashier's ``createOrGetStripeCustomer``, the customer is created lazily: at
the first checkout or portal visit, or by the ``billing.create_customer`` task that
registration queues (``billing.create_customer_on_register``). Registration itself never
waits for Stripe.

Two guards keep it at one customer per owner even under concurrency and retries: the
create call carries an idempotency key derived from the owner (kind included, so a user
and an organization with the same id never share one; Stripe answers a repeat with the
same customer; see :func:`_tag`), and a store lock per owner plus the unique
``(owner_kind, owner_id)`` and ``stripe_customer_id`` of ``billing_customers`` make sure
only one id is ever written.

For user owners the id is also written to the deprecated ``users.stripe_customer_id``
(host code and older instances read it), and a customer found only there, created by an
older kit during a rolling deploy, is adopted.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any, Generic

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.billing.gateway import BillingGateway
from saaskit.billing.locks import store_lock
from saaskit.billing.models import BillingCustomerMixin
from saaskit.billing.owners import OwnerRegistry
from saaskit.exceptions import BillingRejected, SaaSKitError
from saaskit.owners import Owner, as_owner
from saaskit.store import Store
from saaskit.tasks.runner import TaskRunner
from saaskit.tasks.typed import TaskDef, enqueue
from saaskit.types import ClientInfo, UserT
from saaskit.users.service import UserService

logger = logging.getLogger("saaskit.billing")


@dataclass(frozen=True, slots=True)
class CreateCustomer:
    """Payload of ``billing.create_customer``: the owner whose Stripe customer to create."""

    owner_kind: str
    owner_id: int


CREATE_CUSTOMER = TaskDef("billing.create_customer", CreateCustomer)
CREATE_TASK = CREATE_CUSTOMER.name


@dataclass(frozen=True, slots=True)
class PushCustomerEmail:
    """Payload of ``billing.push_customer_email``: the user whose address Stripe should have."""

    user_id: int


PUSH_CUSTOMER_EMAIL = TaskDef("billing.push_customer_email", PushCustomerEmail)

# Stripe keeps idempotency keys for 24 hours; a generation counter that outlives them
# lets an owner get a new customer after theirs was deleted in Stripe.
GENERATION_TTL = 25 * 3600


def _tag(owner: Owner) -> str:
    """How an owner appears in keys.

    ``5`` for a user (the pre-owner form, so instances of an older kit in a rolling deploy share
    locks and idempotency keys), else ``organization-3``. A user's tag starts with a digit and
    no other kind's does, so two owners never share a key.
    """
    return str(owner.id) if owner.kind == "user" else f"{owner.kind}-{owner.id}"


def _lock_key(owner: Owner) -> str:
    return f"billing:customer-lock:{_tag(owner)}"


class CustomerManager(Generic[UserT]):
    """Finds or creates the Stripe customer of a billing owner."""

    def __init__(
        self,
        users: UserService[UserT],
        gateway: BillingGateway,
        store: Store,
        *,
        model: type[BillingCustomerMixin],
        owners: OwnerRegistry,
        session_factory: async_sessionmaker[AsyncSession] | None = None,
        runner: TaskRunner | None = None,
    ) -> None:
        self.users = users
        self.gateway = gateway
        self.store = store
        self.model = model
        self.owners = owners
        self.session_factory = session_factory or users.session_factory
        self.runner = runner  # queues billing.create_customer (None: lazily only)

    async def idempotency_key(self, owner: Owner | Any) -> str:
        """The idempotency key of creating ``owner``'s Stripe customer.

        ``saaskit-customer-{tag}-{created}[-{generation}]``, the tag ``5`` for a user and
        ``organization-3`` for an organization: stable for one owner, distinct for another
        kind with the same id and after a database reset reuses the id (different
        ``created_at``). A user object is read as its user owner.
        """
        if not isinstance(owner, Owner):
            owner = Owner.user(owner.id)
        profile = await self.owners.profile(owner)
        created = int(profile.created_at.timestamp()) if profile.created_at else 0
        key = f"saaskit-customer-{_tag(owner)}-{created}"
        generation = await self.store.get(f"billing:customer-generation:{_tag(owner)}")
        return f"{key}-{generation.decode()}" if generation else key

    async def customer_id(self, owner: Owner | int) -> str | None:
        """The owner's Stripe customer id, if it has one (never calls Stripe)."""
        owner = as_owner(owner)
        async with self.session_factory() as db:
            found = await db.scalar(
                select(self.model.stripe_customer_id).where(
                    self.model.owner_kind == owner.kind, self.model.owner_id == owner.id
                )
            )
        if found is not None or owner.kind != "user":
            return found
        user = await self.users.get(owner.id)
        legacy = user.stripe_customer_id if user is not None else None
        if legacy:  # written by an older kit (rolling deploy) or before the migration
            return await self._link(owner, legacy)
        return None

    async def owner_of(self, customer_id: str) -> Owner | None:
        """The owner whose customer ``customer_id`` is (``None``: not one of ours)."""
        async with self.session_factory() as db:
            row = await db.execute(
                select(self.model.owner_kind, self.model.owner_id).where(
                    self.model.stripe_customer_id == customer_id
                )
            )
            found = row.first()
            if found is not None:
                return Owner.parse(f"{found[0]}:{found[1]}")
            model = self.users.model
            user_id = await db.scalar(
                select(model.id).where(model.stripe_customer_id == customer_id)
            )
        return Owner.user(int(user_id)) if user_id is not None else None

    async def ensure(self, owner: Owner | int) -> str:
        """The owner's Stripe customer id, creating the customer if there is none yet.

        A bare ``int`` (a user id, the pre-owner API) still works but is deprecated:
        pass ``Owner.user(user_id)``.

        Raises:
            BillingOwnerNotFound: no such owner.
            BillingUnavailable: Stripe could not be reached.
        """
        if not isinstance(owner, Owner):
            warnings.warn(
                "CustomerManager.ensure(user_id) is deprecated; pass Owner.user(user_id)",
                DeprecationWarning,
                stacklevel=2,
            )
        owner = as_owner(owner)
        found = await self.customer_id(owner)
        if found:
            return found
        async with store_lock(self.store, _lock_key(owner)):
            found = await self.customer_id(owner)
            if found:
                return found
            profile = await self.owners.profile(owner)
            customer_id = await self.gateway.create_customer(
                email=profile.email or "",
                name=profile.name,
                owner=owner,
                idempotency_key=await self.idempotency_key(owner),
            )
            return await self._link(owner, customer_id)

    async def _link(self, owner: Owner, customer_id: str) -> str:
        """Store ``customer_id`` as the owner's; returns the id the owner ends up with."""
        async with self.session_factory() as db:
            values: dict[str, Any] = {
                "owner_kind": owner.kind,
                "owner_id": owner.id,
                "stripe_customer_id": customer_id,
            }
            db.add(self.model(**values))
            try:
                await db.commit()
                created = True
            except IntegrityError:
                await db.rollback()
                created = False
            stored = await db.scalar(
                select(self.model.stripe_customer_id).where(
                    self.model.owner_kind == owner.kind, self.model.owner_id == owner.id
                )
            )
        if stored is None:
            # The customer is linked to another owner: never share one.
            logger.error("stripe customer %s already belongs to another owner", customer_id)
            raise BillingRejected()
        if owner.kind == "user":
            await self._mirror(owner.id, stored)
        if created:
            logger.info("stripe customer %s linked to %s", stored, owner)
        return str(stored)

    async def _mirror(self, user_id: int, customer_id: str) -> None:
        """Keep the deprecated ``users.stripe_customer_id`` in step, for host code."""
        model = self.users.model
        async with self.session_factory() as db:
            try:
                await db.execute(
                    update(model)
                    .where(model.id == user_id, model.stripe_customer_id.is_(None))
                    .values(stripe_customer_id=customer_id)
                )
                await db.commit()
            except IntegrityError:
                await db.rollback()
                logger.error("stripe customer %s is on another user's row", customer_id)
                return
        await self.users.invalidate(user_id)

    async def on_register(self, user: UserT, client: ClientInfo) -> None:
        """Queue the Stripe customer's creation for a new user (deprecated as a hook).

        Kept for hosts that appended it to ``after_register`` themselves: it now only queues
        the creation (registration never waits for Stripe).
        """
        del client
        await self.queue(Owner.user(user.id))

    async def queue(self, owner: Owner) -> None:
        """Create the owner's customer in the background (task ``billing.create_customer``)."""
        if self.runner is None:
            return
        await enqueue(self.runner, CREATE_CUSTOMER, CreateCustomer(owner.kind, owner.id))

    async def create_task(self, payload: dict[str, Any]) -> None:
        """Task ``billing.create_customer`` (``{"owner_kind": ..., "owner_id": ...}``).

        A failure is logged, not retried: the customer is then created at the owner's
        first checkout or portal visit instead (same idempotency key).
        """
        await self.create_customer(CREATE_CUSTOMER.decode(payload))

    async def create_customer(self, task: CreateCustomer) -> None:
        """Create the Stripe customer of ``task``'s owner, if it still exists."""
        owner = Owner.parse(f"{task.owner_kind}:{task.owner_id}")
        if owner is None or not await self.owners.exists(owner):
            return
        try:
            await self.ensure(owner)
        except SaaSKitError as error:
            # Not retried: nobody waits for it, and the first checkout creates it anyway.
            logger.warning(
                "stripe customer for %s not created after registration (%s); it will be "
                "created at the first billing action",
                owner,
                error.code,
            )

    async def on_user_updated(
        self, user: UserT, changes: dict[str, Any], client: ClientInfo
    ) -> None:
        """Kit listener (``after_update``): a new email reaches the Stripe customer.

        Queued (task ``billing.push_customer_email``), so the change never waits for Stripe;
        the task sends the address the user has when it runs, so two quick changes end on
        the last one whatever order the tasks run in.
        """
        del client
        if "email" in changes and self.runner is not None:
            await enqueue(self.runner, PUSH_CUSTOMER_EMAIL, PushCustomerEmail(user.id))

    async def push_email_task(self, payload: dict[str, Any]) -> None:
        """Task ``billing.push_customer_email`` (``{"user_id": ...}``).

        Nothing to do when the user or its customer is gone. A Stripe failure raises, so a
        runner that retries (Celery) sends it again; the in-process runner logs it.
        """
        task = PUSH_CUSTOMER_EMAIL.decode(payload)
        user = await self.users.get(task.user_id)
        if user is None:
            return
        customer_id = await self.customer_id(Owner.user(user.id))
        if customer_id is not None:
            await self.gateway.update_customer_email(customer_id, user.email)

    async def on_user_deleted(self, user: UserT, client: ClientInfo) -> None:
        """Kit listener (``after_delete``): drop the user's customer link.

        A later user given the same id (SQLite reuses ids) never inherits it. The customer
        and its subscriptions stay in Stripe, and ``subscriptions`` keeps their record.
        """
        del client
        async with self.session_factory() as db:
            await db.execute(
                delete(self.model).where(
                    self.model.owner_kind == "user", self.model.owner_id == user.id
                )
            )
            await db.commit()

    async def forget(self, customer_id: str) -> list[Owner]:
        """Unlink a customer deleted in Stripe from its owner; returns the owners."""
        model = self.users.model
        async with self.session_factory() as db:
            rows = await db.execute(
                delete(self.model)
                .where(self.model.stripe_customer_id == customer_id)
                .returning(self.model.owner_kind, self.model.owner_id)
            )
            owners = [o for o in (Owner.parse(f"{k}:{i}") for k, i in rows) if o is not None]
            user_ids = list(
                await db.scalars(
                    update(model)
                    .where(model.stripe_customer_id == customer_id)
                    .values(stripe_customer_id=None)
                    .returning(model.id)
                )
            )
            await db.commit()
        owners += [Owner.user(i) for i in user_ids if Owner.user(i) not in owners]
        for owner in owners:
            key = f"billing:customer-generation:{_tag(owner)}"
            await self.store.incr(key, 1, GENERATION_TTL)
            if owner.kind == "user":
                await self.users.invalidate(owner.id)
        return owners

"""Account deletion: scheduled, restorable during a grace period, then erased in steps.

**Scheduling** (``POST /privacy/deletion`` with the current password, or a superuser):
the account is deactivated at once through the kit's own revocation (``is_active`` false
ends every login session and drops the cached user; personal API keys are revoked; the
organization keys the user created stop with them, since every dependency that accepts
them requires an active user). Whether the account was active before is recorded
(``was_active``). A restore link is emailed when the user deleted their own account and
it was active; a deletion a superuser made (moderation, a support request) and an
account already deactivated (banned) get none: a superuser restores those.

**Restoring** is done with that link (``POST /privacy/deletion/restore``), not by
logging in: a deactivated account's login fails exactly like a wrong password (no
oracle for whoever holds only the password), and whoever deleted the account because
the password leaked does not want the password to be enough to bring it back. The link
proves control of the mailbox; superusers can restore too. A restore puts the account's
state before the deletion back: an account that was deactivated stays deactivated (a
superuser re-activates it explicitly, ``PATCH /users/{id}``).

**Erasure** (:meth:`DeletionService.erase_due`, from the ``privacy.sweep`` task) runs
once the grace period is over. Each step is idempotent, and the steps done are recorded
on the deletion row one by one: after a failure (Stripe down, a host hook raising) the
next sweep resumes at the failed step, so every run ends in the same state. Steps:

1. ``billing``: subscriptions canceled at once; the Stripe customer deleted (or kept,
   ``delete_stripe_customer``); the customer link dropped.
2. ``organizations``: each organization the user is the only owner of is transferred
   to its next admin (else oldest member) or deleted (``sole_owner_orgs``); deleting
   cancels its subscription. The user's memberships go.
3. ``eraser:<name>``: each feature's :class:`~saaskit.features.DataEraser`.
4. ``hook:<name>``: each host hook (:data:`ErasureHook`), for the host's own tables.
5. ``exports``: archives and export rows.
6. ``user``: the user row, through the kit's ``users.delete`` (foreign keys cascade).
7. ``audit``: the trail keeps its facts, not the person: the user's id becomes ``NULL``
   as actor and target, their IP addresses and user agents are removed, and email
   addresses in event details (failed logins, email changes) are replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.apikeys.errors import ApiKeyNotFound
from saaskit.exceptions import UserNotFound
from saaskit.features import AuditRecorder, DataEraser
from saaskit.privacy.errors import AccountErased, DeletionNotFound, RestoreTokenInvalid
from saaskit.privacy.models import AccountDeletionMixin
from saaskit.privacy.schemas import PrivacySettings
from saaskit.tasks.runner import TaskRunner
from saaskit.tasks.typed import TaskDef, enqueue
from saaskit.types import ClientInfo, Owner

__all__ = [
    "RESTORE_EMAIL",
    "DeletionService",
    "ErasureContext",
    "ErasureHook",
    "RestoreEmail",
]

logger = logging.getLogger("saaskit.privacy")

SCHEDULED, ERASING, ERASED, RESTORED = "scheduled", "erasing", "erased", "restored"
ERASED_EMAIL = "[erased]"
EMAIL_KEYS = ("email", "old_email", "new_email")
AUDIT_PAGE = 1000


@dataclass(frozen=True, slots=True)
class ErasureContext:
    """What an erasure step knows of the account being erased.

    Attributes:
        deletion_id: the deletion's id (stable across resumed runs).
        user_id: the user's id.
        email: the account's address when the deletion was scheduled.
    """

    deletion_id: int
    user_id: int
    email: str | None


ErasureHook = Callable[[ErasureContext], Awaitable[None]]
"""A host's part of the erasure: delete or anonymise the user's rows in its own tables.

Runs after the kit's billing and organization steps, before the user row is deleted;
it must be idempotent (a resumed erasure may run it again after it failed midway)."""


@dataclass(frozen=True, slots=True)
class RestoreEmail:
    """The email with the restore link, valid until the erasure."""

    to: str
    token: str
    days: int
    name: str | None = None


RESTORE_EMAIL = TaskDef("privacy.restore_email", RestoreEmail)


def hash_token(token: str) -> str:
    """What is stored of a restore token."""
    return hashlib.sha256(token.encode()).hexdigest()


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (SQLite gives naive ones back)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


Step = Callable[[ErasureContext], Awaitable[None]]


class DeletionService:
    """Schedules, restores and erases accounts.

    Args:
        table: the ``privacy_deletions`` table.
        audit_model: the ``audit_events`` table.
        session_factory: database sessions.
        settings: the privacy settings.
        audit: the kit's audit log.
        runner: queues the restore email.
        users: the kit's :class:`~saaskit.users.service.UserService`.
        api_keys: the API keys service, if enabled.
        orgs: the organizations service, if enabled.
        billing: the billing service, if enabled.
        forget_exports: ``async (user_id)``: delete the user's export archives.
        erasers: the features' erasers (called when an erasure runs).
        clock: now, in UTC (tests move it).
    """

    def __init__(
        self,
        *,
        table: type[AccountDeletionMixin],
        audit_model: type[Any],
        session_factory: async_sessionmaker[AsyncSession],
        settings: PrivacySettings,
        audit: AuditRecorder,
        runner: TaskRunner,
        users: Any,
        api_keys: Any | None,
        orgs: Any | None,
        billing: Any | None,
        forget_exports: Callable[[int], Awaitable[Any]],
        erasers: Callable[[], Sequence[DataEraser]],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.table = table
        self.audit_model = audit_model
        self.session_factory = session_factory
        self.settings = settings
        self.audit = audit
        self.runner = runner
        self.users = users
        self.api_keys = api_keys
        self.orgs = orgs
        self.billing = billing
        self.forget_exports = forget_exports
        self.erasers = erasers
        self.clock = clock
        self.hooks: dict[str, ErasureHook] = {}
        """The host's erasure hooks by name (the step is ``hook:<name>``)."""

    def on_erase(self, name: str, hook: ErasureHook) -> None:
        """Add a host hook, run in every erasure (``hook:<name>`` in its progress).

        Raises:
            ValueError: a hook of that name is already registered.
        """
        if name in self.hooks:
            raise ValueError(f"an erasure hook named {name!r} is already registered")
        self.hooks[name] = hook

    # -- scheduling and restoring ------------------------------------------------------

    async def active(self, user_id: int) -> AccountDeletionMixin | None:
        """The user's deletion that is scheduled or erasing, if any."""
        table = self.table
        async with self.session_factory() as db:
            found: AccountDeletionMixin | None = await db.scalar(
                select(table)
                .where(table.user_id == user_id, table.status.in_((SCHEDULED, ERASING)))
                .order_by(table.id.desc())
                .limit(1)
            )
            return found

    async def schedule(
        self, user_id: int, *, actor_id: int | None = None, client: ClientInfo | None = None
    ) -> AccountDeletionMixin:
        """Deactivate the account now and schedule its erasure after the grace period.

        Records whether the account was active (``was_active``): a restore puts that back.
        The user gets a restore link only for their own deletion of an active account
        (``actor_id`` is theirs, or ``None``): a superuser's deletion (moderation) and an
        account already deactivated (say, banned) get no token and no email, so only a
        superuser can restore them (and a deactivated one stays deactivated).

        Idempotent: an account already scheduled keeps its date, its recorded state and its
        link (no second email). The deactivation and the key revocation are applied again,
        so retrying a scheduling that failed after its row was written completes it.

        Raises:
            UserNotFound: there is no such user.
        """
        table = self.table
        token = secrets.token_urlsafe(32)
        now = self.clock()
        days = self.settings.deletion_grace_days
        async with self.session_factory() as db, db.begin():
            # The user's row, locked: two concurrent requests make one deletion, not two.
            # FOR NO KEY UPDATE (PostgreSQL) conflicts with itself, which is all this needs,
            # and not with the inserts of rows referencing the user (audit events, ...).
            user = await db.get(self.users.model, user_id, with_for_update={"key_share": True})
            if user is None:
                raise UserNotFound()
            existing: AccountDeletionMixin | None = await db.scalar(
                select(table)
                .where(table.user_id == user_id, table.status.in_((SCHEDULED, ERASING)))
                .limit(1)
            )
            was_active = bool(user.is_active)
            # Deactivated in the transaction that schedules: no scheduled deletion of an
            # active account, whatever fails after (_deactivate ends sessions and keys).
            user.is_active = False
            if existing is None:
                link = was_active and actor_id in (None, user_id)
                email, full_name = user.email, getattr(user, "full_name", None)
                row = table(  # type: ignore[call-arg]
                    user_id=user_id,
                    status=SCHEDULED,
                    requested_at=now,
                    erase_after=now + timedelta(days=days),
                    requested_by=actor_id,
                    restore_token_hash=hash_token(token) if link else None,
                    email=email,
                    steps=[],
                    attempts=0,
                    was_active=was_active,
                )
                db.add(row)
            elif actor_id not in (None, user_id) and existing.restore_token_hash is not None:
                # A superuser deletes an account its owner scheduled: the owner's link
                # stops (a superuser restores it), as if the superuser had deleted first.
                existing.restore_token_hash = None
        await self._deactivate(user_id, actor_id=actor_id)
        if existing is not None:
            return existing  # its audit entry and email went with the first scheduling
        await self.audit.record(
            "account_deletion_scheduled",
            actor_id=actor_id,
            target_id=user_id,
            client=client,
            detail={
                "deletion_id": row.id,
                "erase_after": row.erase_after.isoformat(),
                "was_active": was_active,
                "restore_link": link,
            },
        )
        if link:
            await enqueue(
                self.runner,
                RESTORE_EMAIL,
                RestoreEmail(to=email, token=token, days=days, name=full_name),
            )
        return row

    async def mark_deactivated(self, db: AsyncSession, user: Any) -> None:
        """A person deactivated ``user`` (a ban) while a deletion is scheduled: keep it.

        Runs in the transaction of that deactivation (``UserService.deactivation_steps``):
        the deletion now records the account as deactivated and its restore link stops,
        so neither the link nor a superuser's restore makes it active again.
        """
        table = self.table
        await db.execute(
            update(table)
            .where(table.user_id == user.id, table.status.in_((SCHEDULED, ERASING)))
            .values(was_active=False, restore_token_hash=None)
        )

    async def cancel_on_reactivation(
        self, db: AsyncSession, user: Any
    ) -> Callable[[], Awaitable[None]] | None:
        """A person re-activated ``user`` while a deletion is scheduled: it is cancelled.

        Runs in the transaction of that re-activation (``UserService.reactivation_steps``):
        an account someone made active again (support undoing a deletion, say, through
        ``PATCH /users/{id}`` or the console) is not erased when the grace period ends.
        The deletion is marked restored and its restore link stops, as a restore does.

        Raises:
            AccountErased: the grace period is over or the erasure started: the account
                stays deactivated (nothing is committed).
        """
        table = self.table
        now = self.clock()
        cancelled = (
            (
                await db.execute(
                    update(table)
                    .where(
                        table.user_id == user.id,
                        table.status == SCHEDULED,
                        table.erase_after > now,
                    )
                    .values(status=RESTORED, finished_at=now, restore_token_hash=None, email=None)
                    .returning(table.id)
                )
            )
            .scalars()
            .all()
        )
        left = await db.scalar(
            select(func.count())
            .select_from(table)
            .where(table.user_id == user.id, table.status.in_((SCHEDULED, ERASING)))
        )
        if left:
            raise AccountErased()
        if not cancelled:
            return None
        user_id, deletion_ids = user.id, list(cancelled)

        async def audit() -> None:
            for deletion_id in deletion_ids:
                await self.audit.record(
                    "account_deletion_restored",
                    target_id=user_id,
                    detail={"deletion_id": deletion_id, "is_active": True, "by": "reactivation"},
                )

        return audit

    async def _deactivate(self, user_id: int, *, actor_id: int | None) -> None:
        """The kit's own revocation: sessions end, the cached user is dropped, keys revoked.

        Idempotent (a retried or repeated scheduling runs it again).
        """
        await self.users.update(user_id, {"is_active": False})
        if self.api_keys is not None:
            for key in await self.api_keys.list_keys(user_id=user_id):
                with contextlib.suppress(ApiKeyNotFound):  # revoked meanwhile
                    await self.api_keys.revoke(key.public_id, user_id=user_id, actor_id=actor_id)

    async def restore_with_token(
        self, token: str, *, client: ClientInfo | None = None
    ) -> AccountDeletionMixin:
        """Restore the account whose restore link carries ``token`` (active again).

        Only an account that was active is sent a link, so this always re-activates.

        Raises:
            RestoreTokenInvalid: no deletion has that token, or it was restored already.
            AccountErased: the erasure started or finished: too late.
        """
        table = self.table
        async with self.session_factory() as db:
            row = await db.scalar(
                select(table).where(table.restore_token_hash == hash_token(token))
            )
        if row is None or row.status == RESTORED:
            raise RestoreTokenInvalid()
        return await self._restore(row, actor_id=row.user_id, client=client)

    async def restore(
        self, user_id: int, *, actor_id: int | None, client: ClientInfo | None = None
    ) -> AccountDeletionMixin:
        """Restore the user's scheduled deletion (a superuser).

        The account gets its state before the deletion back: one that was deactivated
        stays deactivated (re-activate it explicitly, ``PATCH /users/{id}``).

        Raises:
            DeletionNotFound: the user has no deletion scheduled.
            AccountErased: the erasure started or finished: too late.
        """
        table = self.table
        async with self.session_factory() as db:
            row = await db.scalar(
                select(table).where(table.user_id == user_id).order_by(table.id.desc()).limit(1)
            )
        if row is None or row.status == RESTORED:
            raise DeletionNotFound()
        return await self._restore(row, actor_id=actor_id, client=client)

    async def _restore(
        self, row: AccountDeletionMixin, *, actor_id: int | None, client: ClientInfo | None
    ) -> AccountDeletionMixin:
        table = self.table
        async with self.session_factory() as db, db.begin():
            # One transaction for the deletion's row and the account's: a restore that
            # fails halfway leaves the deletion scheduled (its link still works), never a
            # restored deletion on a deactivated account. The user's row is locked first,
            # as a ban writes it first (UserService.update, then mark_deactivated): a ban
            # waits for this restore or this restore for the ban, never half of each.
            user = await db.get(self.users.model, row.user_id, with_for_update={"key_share": True})
            # Only a scheduled deletion, and only before its date: never a half-erased one.
            # The state to put back is read by the same statement: a ban recorded on the
            # row meanwhile (mark_deactivated) is seen.
            result = await db.execute(
                update(table)
                .where(
                    table.id == row.id,
                    table.status == SCHEDULED,
                    table.erase_after > self.clock(),
                )
                .values(
                    status=RESTORED,
                    finished_at=self.clock(),
                    restore_token_hash=None,
                    email=None,
                )
                .returning(table.was_active)
            )
            restored_state = result.first()
            if restored_state is None or user is None:
                raise AccountErased()
            # The state before the deletion, never more: a deactivated (banned) account
            # stays deactivated; NULL is a deletion scheduled before the state was recorded.
            is_active = restored_state[0] is not False
            user.is_active = is_active
        await self.users.invalidate(row.user_id)
        await self.audit.record(
            "account_deletion_restored",
            actor_id=actor_id,
            target_id=row.user_id,
            client=client,
            detail={"deletion_id": row.id, "is_active": is_active},
        )
        async with self.session_factory() as db:
            restored = await db.get(table, row.id)
        assert restored is not None
        return restored

    async def page(
        self, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[AccountDeletionMixin]:
        """Deletions, soonest erasure first (``status`` filters)."""
        table = self.table
        query = select(table)
        if status is not None:
            query = query.where(table.status == status)
        async with self.session_factory() as db:
            rows = await db.scalars(
                query.order_by(table.erase_after, table.id).limit(limit).offset(offset)
            )
            return list(rows)

    # -- erasure -----------------------------------------------------------------------

    def plan(self) -> list[tuple[str, Step]]:
        """The erasure's steps, in order, by name."""
        steps: list[tuple[str, Step]] = [
            ("billing", self._billing),
            ("organizations", self._organizations),
        ]
        for eraser in self.erasers():
            steps.append((f"eraser:{eraser.name}", _eraser_step(eraser)))
        for name, hook in self.hooks.items():
            steps.append((f"hook:{name}", hook))
        steps += [("exports", self._exports), ("user", self._user), ("audit", self._audit)]
        return steps

    async def run_step(self, name: str, step: Step, context: ErasureContext) -> None:
        """Run one step (a seam for tests that inject failures)."""
        await step(context)

    async def erase_due(self) -> tuple[list[int], list[int]]:
        """Erase every account whose grace period is over (the sweep).

        Returns:
            The user ids erased, and those whose erasure failed (resumed next time).
        """
        table = self.table
        async with self.session_factory() as db:
            due = list(
                await db.scalars(
                    select(table.id)
                    .where(
                        table.status.in_((SCHEDULED, ERASING)),
                        table.erase_after <= self.clock(),
                    )
                    .order_by(table.erase_after, table.id)
                )
            )
        erased: list[int] = []
        failed: list[int] = []
        for deletion_id in due:
            try:
                user_id = await self.erase(deletion_id)
            except Exception:
                logger.exception(
                    "erasing account (deletion %s) failed; resumed next sweep", deletion_id
                )
                failed.append(deletion_id)
            else:
                if user_id is not None:
                    erased.append(user_id)
        return erased, failed

    async def erase(self, deletion_id: int) -> int | None:
        """Run (or resume) the erasure of deletion ``deletion_id`` if it is due.

        Returns:
            The erased user's id; ``None`` when it is not due or not scheduled.

        Raises:
            Exception: the step that failed (its name is recorded; call again).
        """
        table = self.table
        async with self.session_factory() as db, db.begin():
            row = await db.get(table, deletion_id, with_for_update=True)
            if (
                row is None
                or row.status not in (SCHEDULED, ERASING)
                or utc(row.erase_after) > self.clock()
            ):
                return None
            row.status = ERASING
            row.attempts += 1
            context = ErasureContext(row.id, row.user_id, row.email)
            done = set(row.steps or [])
        for name, step in self.plan():
            if name in done:
                continue
            try:
                await self.run_step(name, step, context)
            except Exception as error:
                await self._progress(deletion_id, error=f"{name}: {type(error).__name__}")
                raise
            await self._progress(deletion_id, step=name)
        async with self.session_factory() as db, db.begin():
            await db.execute(
                update(table)
                .where(table.id == deletion_id)
                .values(status=ERASED, finished_at=self.clock(), email=None, last_error=None)
            )
        await self.audit.record("account_erased", detail={"deletion_id": deletion_id})
        return context.user_id

    async def _progress(
        self, deletion_id: int, *, step: str | None = None, error: str | None = None
    ) -> None:
        async with self.session_factory() as db, db.begin():
            row = await db.get(self.table, deletion_id, with_for_update=True)
            assert row is not None
            if step is not None:
                row.steps = [*(row.steps or []), step]  # a new list: JSON columns track assignment
            row.last_error = error[:255] if error else None

    # -- the steps -----------------------------------------------------------------------

    async def _billing(self, context: ErasureContext) -> None:
        billing = self.billing
        if billing is None:
            return
        owner = Owner.user(context.user_id)
        await billing.cancel_all(owner)
        customer_id = await billing.customers.customer_id(owner)
        if customer_id is not None and self.settings.delete_stripe_customer:
            delete: Any = getattr(billing.gateway, "delete_customer", None)
            if delete is None:
                raise NotImplementedError("the billing gateway cannot delete customers")
            await delete(customer_id)
        await billing.forget_owner(owner)

    async def _organizations(self, context: ErasureContext) -> None:
        orgs = self.orgs
        if orgs is None:
            return
        from saaskit.orgs.service import OWNER, OrgContext

        member, org = orgs.membership, orgs.organization
        user_id = context.user_id
        async with self.session_factory() as db:
            owned = list(
                await db.scalars(
                    select(member.organization_id).where(
                        member.user_id == user_id, member.role == OWNER
                    )
                )
            )
        for org_id in owned:
            async with self.session_factory() as db, db.begin():
                others = (
                    await db.execute(
                        select(member.user_id, member.role)
                        .where(member.organization_id == org_id, member.user_id != user_id)
                        .order_by(member.joined_at, member.id)
                    )
                ).all()
                if any(role == OWNER for _, role in others):
                    continue  # another owner keeps it
                successor = next((uid for uid, role in others if role == "admin"), None)
                if successor is None and others:
                    successor = others[0][0]
                if self.settings.sole_owner_orgs == "transfer" and successor is not None:
                    await db.execute(
                        update(member)
                        .where(member.organization_id == org_id, member.user_id == successor)
                        .values(role=OWNER)
                    )
                    transferred = True
                else:
                    transferred = False
            if transferred:
                await orgs.forget(org_id, successor)
                await self.audit.record(
                    "org_ownership_transferred",
                    target_id=successor,
                    detail={"organization_id": org_id, "reason": "owner_account_erased"},
                )
                continue
            async with self.session_factory() as db:
                found = await db.get(org, org_id)
            if found is None:
                continue
            ctx = OrgContext(
                organization_id=org_id,
                name=found.name,
                slug=found.slug,
                user_id=user_id,
                role=OWNER,
                permissions=orgs.permissions(OWNER),
            )
            await orgs.delete(ctx)  # cancels its subscription first (503: resumed later)
        async with self.session_factory() as db, db.begin():
            left = list(
                await db.scalars(select(member.organization_id).where(member.user_id == user_id))
            )
            await db.execute(member.__table__.delete().where(member.user_id == user_id))
            if context.email:
                # Invitations name an address, not an account: those sent to the person's
                # address (pending or used) go too; the ones they sent lose their sender
                # with the user's row (invited_by: ON DELETE SET NULL).
                invitation = orgs.invitation
                await db.execute(
                    invitation.__table__.delete().where(
                        func.lower(invitation.email) == context.email.lower()
                    )
                )
        for org_id in left:
            await orgs.forget(org_id, user_id)
            if orgs.seats_changed is not None:
                await orgs.seats_changed(org_id)

    async def _exports(self, context: ErasureContext) -> None:
        await self.forget_exports(context.user_id)

    async def _user(self, context: ErasureContext) -> None:
        with contextlib.suppress(UserNotFound):  # an earlier run's, not recorded
            await self.users.delete(context.user_id)

    async def _audit(self, context: ErasureContext) -> None:
        model, user_id = self.audit_model, context.user_id
        emails = {context.email.casefold()} if context.email else set()
        async with self.session_factory() as db, db.begin():
            mine = or_(model.actor_id == user_id, model.target_id == user_id)
            for event_id, detail in (
                await db.execute(
                    select(model.id, model.detail).where(mine, model.detail.is_not(None))
                )
            ).all():
                if isinstance(detail, dict):  # JSON null is not SQL NULL
                    emails |= {str(detail[k]).casefold() for k in EMAIL_KEYS if detail.get(k)}
                    await _scrub(db, model, event_id, detail, None)
            # Failed logins name the address typed, not a user id: scanned, page by page.
            last = 0
            while emails:
                rows = (
                    await db.execute(
                        select(model.id, model.detail)
                        .where(
                            model.actor_id.is_(None),
                            model.detail.is_not(None),
                            model.id > last,
                        )
                        .order_by(model.id)
                        .limit(AUDIT_PAGE)
                    )
                ).all()
                for event_id, detail in rows:
                    await _scrub(db, model, event_id, detail, emails)
                if len(rows) < AUDIT_PAGE:
                    break
                last = rows[-1][0]
            # Their own requests' addresses and agents go; an admin's acting on them stay.
            await db.execute(
                update(model)
                .where(
                    or_(
                        model.actor_id == user_id,
                        (model.target_id == user_id) & model.actor_id.is_(None),
                    )
                )
                .values(ip=None, user_agent=None)
            )
            await db.execute(update(model).where(model.actor_id == user_id).values(actor_id=None))
            await db.execute(update(model).where(model.target_id == user_id).values(target_id=None))
            if hasattr(model, "impersonator_id"):  # a superuser who impersonated: named no more
                await db.execute(
                    update(model)
                    .where(model.impersonator_id == user_id)
                    .values(impersonator_id=None)
                )


async def _scrub(
    db: AsyncSession,
    model: type[Any],
    event_id: int,
    detail: Any,
    emails: set[str] | None,
) -> None:
    """Replace the email addresses in one event's detail (only ``emails``, if given)."""
    if not isinstance(detail, dict):
        return
    changed = {
        key: ERASED_EMAIL
        for key in EMAIL_KEYS
        if isinstance(detail.get(key), str)
        and detail[key] != ERASED_EMAIL
        and (emails is None or detail[key].casefold() in emails)
    }
    if changed:
        values: dict[str, Any] = {"detail": {**detail, **changed}}
        if emails is not None:  # a failed login with their address: from their device
            values.update(ip=None, user_agent=None)
        await db.execute(update(model).where(model.id == event_id).values(**values))


def _eraser_step(eraser: DataEraser) -> Step:
    async def step(context: ErasureContext) -> None:
        await eraser.erase(context.user_id)

    return step

"""User business rules: create, read, update, delete, passwords. No HTTP here."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.audit.service import AuditAction, AuditLog
from saaskit.db.engine import single_statements
from saaskit.db.mixins import normalize_email
from saaskit.db.replicas import ReadRouter
from saaskit.exceptions import (
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidInput,
    UserNotFound,
)
from saaskit.hooks import Hooks
from saaskit.types import ClientInfo, UserT
from saaskit.users.cache import UserCache

NO_CLIENT = ClientInfo()


class PasswordHashing(Protocol):
    """What users need of a password hasher (:class:`saaskit.auth.passwords.PasswordHasher`)."""

    def check_policy(self, password: str) -> None:
        """Raise :class:`~saaskit.exceptions.InvalidPassword` if ``password`` is unacceptable."""
        ...

    async def hash(self, password: str) -> str:
        """The hash to store for ``password``."""
        ...

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """Whether ``password`` matches ``hashed``, and an upgraded hash if one is due."""
        ...


class SessionRevocation(Protocol):
    """What users need of the sessions (:class:`saaskit.auth.sessions.SessionManager`)."""

    async def revoke_all(self, user_id: int, *, keep: str | None = None) -> int:
        """End every session of the user except ``keep``; returns how many ended."""
        ...


AfterCommit = Callable[[], Awaitable[None]]
"""Work an :class:`AccountStep` leaves for after the commit (cache, audit)."""


class AccountStep(Protocol):
    """Another feature's part of creating or deleting an account, in the same transaction.

    Called with the open session and the user (flushed, so it has its id, on creation;
    about to be deleted, on deletion). It may add or delete rows in ``db`` (committed with
    the user, or not at all) or raise to refuse (nothing is committed), and may return a
    coroutine function to run once the transaction is committed.
    """

    async def __call__(self, db: AsyncSession, user: Any, /) -> AfterCommit | None:
        """Do the step's part of the user's transaction; what to run after the commit."""
        ...


class AccountDeleter(Protocol):
    """How an account's owner or a superuser deletes it, when not at once.

    The privacy feature sets one (:attr:`UserService.account_deleter`): the account is
    deactivated now and erased after a grace period, so ``DELETE /users/me`` and
    ``DELETE /users/{id}`` schedule, like ``POST /privacy/deletion``.
    """

    async def __call__(self, user_id: int, /, *, actor_id: int | None, client: ClientInfo) -> None:
        """Delete (or schedule the deletion of) ``user_id``; raise :class:`UserNotFound`."""
        ...


UNUSABLE_PASSWORD_PREFIX = "!"
"""``hashed_password`` of an account without a password (created through a login provider):
no hash algorithm produces it, so no password matches it (Django's convention)."""


def unusable_password() -> str:
    """A ``hashed_password`` that no password matches (random, so rows stay distinct)."""
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(16)


def has_usable_password(hashed: str | None) -> bool:
    """Whether ``hashed`` is a password hash (not :func:`unusable_password`'s marker)."""
    return bool(hashed) and not str(hashed).startswith(UNUSABLE_PASSWORD_PREFIX)


# Columns no generic update may touch: they change only through dedicated methods.
PROTECTED_FIELDS = frozenset({"id", "hashed_password", "stripe_customer_id", "created_at"})


class UserService(Generic[UserT]):
    """Everything saaskit does to users, usable from routes, the CLI and tasks."""

    def __init__(
        self,
        model: type[UserT],
        session_factory: async_sessionmaker[AsyncSession],
        passwords: PasswordHashing,
        sessions: SessionRevocation,
        cache: UserCache[UserT],
        audit: AuditLog,
        hooks: Hooks[UserT],
        *,
        reads: ReadRouter | None = None,
    ) -> None:
        self.model = model
        self.session_factory = session_factory
        self._single = single_statements(session_factory)
        # Admin screens tolerate replication lag; everything else reads the primary.
        self.reads = reads or ReadRouter(session_factory.kw["bind"])
        self.passwords = passwords
        self.sessions = sessions
        self.cache = cache
        self.audit = audit
        self.hooks = hooks
        self.creation_steps: list[AccountStep] = []
        """Run in the transaction that creates a user (the organizations feature's personal
        organization): a step that fails leaves no user."""
        self.deletion_steps: list[AccountStep] = []
        """Run in the transaction that deletes a user, before the delete: a step may refuse
        (the last owner of an organization with other members)."""
        self.deactivation_steps: list[AccountStep] = []
        """Run in the transaction that deactivates a user on someone's request (an update
        with ``is_active`` false and an ``actor_id``): the privacy feature makes a scheduled
        deletion keep that (a ban) on restore."""
        self.reactivation_steps: list[AccountStep] = []
        """Run in the transaction that re-activates a user on someone's request (an update
        with ``is_active`` true and an ``actor_id``): the privacy feature cancels a
        scheduled deletion, so a re-activated account is not erased after all."""
        self.account_deleter: AccountDeleter | None = None
        """What :meth:`delete_account` calls instead of deleting at once (set by the
        privacy feature: deletion with a grace period)."""

    async def get(self, user_id: int, *, replica: bool = False) -> UserT | None:
        """The user, from the primary; ``replica=True`` (admin screens) accepts a lagging copy."""
        if replica:
            return await self.reads.run(lambda db: db.get(self.model, user_id))
        async with self.session_factory() as db:
            return await db.get(self.model, user_id)

    async def get_by_email(self, email: str) -> UserT | None:
        """The user with this email (any case), detached; read with one plain query."""
        codec = self.cache.codec
        query = select(*codec.columns).where(self.model.email == normalize_email(email))
        async with self._single.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else codec.from_row(dict(row))

    async def load(self, user_id: int) -> UserT | None:
        """Read a user from the database and refresh its cache entry."""
        user = await self.get(user_id)
        if user is not None:
            await self.cache.put(user)
        return user

    async def invalidate(self, user_id: int) -> None:
        """Drop the cached copy; call after changing a user outside saaskit."""
        await self.cache.invalidate(user_id)

    async def create(
        self,
        email: str,
        password: str | None,
        *,
        full_name: str | None = None,
        is_superuser: bool = False,
        is_verified: bool = False,
        extra: Mapping[str, Any] | None = None,
    ) -> UserT:
        """Create a user; raises EmailAlreadyRegistered or InvalidPassword.

        ``password=None`` creates an account without a password (a login provider's): no
        password logs into it until one is set (forgot-password, reset).

        The email is put in canonical form (:func:`~saaskit.db.normalize_email`) but not
        checked: request bodies check it with :data:`saaskit.users.emails.EmailAddress`.
        """
        if password is not None:
            self.passwords.check_policy(password)
        _refuse_nul({**dict(extra or {}), "email": email, "full_name": full_name})
        email = normalize_email(email)
        if await self.get_by_email(email) is not None:
            raise EmailAlreadyRegistered()
        hashed = unusable_password() if password is None else await self.passwords.hash(password)
        values: dict[str, Any] = {
            **dict(extra or {}),
            "email": email,
            "hashed_password": hashed,
            "full_name": full_name,
            "is_superuser": is_superuser,
            "is_verified": is_verified,
        }
        user = self.model(**values)
        after: list[AfterCommit | None] = []
        async with self.session_factory() as db:
            db.add(user)
            try:
                if self.creation_steps:
                    await db.flush()  # the id, for the steps
                    after = [await step(db, user) for step in self.creation_steps]
                await db.commit()
            except IntegrityError as error:
                await db.rollback()
                if await self.get_by_email(email) is not None:
                    raise EmailAlreadyRegistered() from error
                raise
            await db.refresh(user)
        await _run(after)
        return user

    async def authenticate(self, email: str, password: str) -> UserT:
        """The active user with these credentials, or InvalidCredentials.

        Unknown emails pay a dummy verify, and inactive users fail the same way as a
        wrong password, so neither the answer nor its timing tells which it was.
        """
        user = await self.get_by_email(email)
        # No password (a provider's account) pays the same dummy verify as no account.
        hashed = (
            user.hashed_password if user and has_usable_password(user.hashed_password) else None
        )
        ok, new_hash = await self.passwords.verify(password, hashed)
        if user is None or not ok or not user.is_active:
            raise InvalidCredentials()
        if new_hash is not None:
            await self._set_hash(user.id, new_hash)
        return user

    async def update(
        self,
        user_id: int,
        changes: Mapping[str, Any],
        *,
        actor_id: int | None = None,
        client: ClientInfo = NO_CLIENT,
    ) -> UserT:
        """Apply ``changes`` (field → value); ``password`` is hashed, email re-checked.

        With an ``actor_id`` (a person made the change) it is audited and hooks run.
        Deactivating a user or changing the password ends their sessions at once.
        """
        values = {k: v for k, v in changes.items() if k not in PROTECTED_FIELDS}
        _refuse_nul({k: v for k, v in values.items() if k != "password"})
        if "password" in values:
            password = values.pop("password")
            self.passwords.check_policy(password)
            values["hashed_password"] = await self.passwords.hash(password)
        async with self.session_factory() as db:
            user = await db.get(self.model, user_id)
            if user is None:
                raise UserNotFound()
            if "email" in values:
                values["email"] = normalize_email(values["email"])
                if values["email"] == user.email:
                    del values["email"]
                else:
                    values["is_verified"] = False
            for key, value in values.items():
                setattr(user, key, value)
            after: list[AfterCommit | None] = []
            if values.get("is_active") is False and actor_id is not None:
                after = [await step(db, user) for step in self.deactivation_steps]
            elif values.get("is_active") is True and actor_id is not None:
                after = [await step(db, user) for step in self.reactivation_steps]
            try:
                await db.commit()
            except IntegrityError as error:
                raise EmailAlreadyRegistered() from error
            await db.refresh(user)
        await _run(after)
        await self.cache.invalidate(user_id)
        if values.get("is_active") is False or "hashed_password" in values:
            await self.sessions.revoke_all(user_id)
        if actor_id is not None:
            action = (
                AuditAction.USER_DEACTIVATED
                if values.get("is_active") is False
                else AuditAction.USER_UPDATED
            )
            fields = sorted("password" if k == "hashed_password" else k for k in values)
            await self.audit.record(
                action,
                actor_id=actor_id,
                target_id=user_id,
                client=client,
                detail={"fields": fields},
            )
            await self.hooks.emit_event("after_update", user, values, client)
        return user

    async def change_email(self, user_id: int, new_email: str) -> UserT:
        """Switch to ``new_email``, verified (the caller proved the address receives mail).

        Raises :class:`EmailAlreadyRegistered` when another account took it meanwhile.
        """
        email = normalize_email(new_email)
        _refuse_nul({"email": email})
        async with self.session_factory() as db:
            user = await db.get(self.model, user_id)
            if user is None:
                raise UserNotFound()
            user.email = email
            user.is_verified = True
            try:
                await db.commit()
            except IntegrityError as error:
                raise EmailAlreadyRegistered() from error
            await db.refresh(user)
        await self.cache.invalidate(user_id)
        return user

    async def change_password(
        self,
        user_id: int,
        current: str,
        new: str,
        *,
        keep_session: str | None = None,
        client: ClientInfo = NO_CLIENT,
    ) -> None:
        """Check ``current``, store ``new``, and end every other session."""
        user = await self.get(user_id)
        if user is None:
            raise UserNotFound()
        if not has_usable_password(user.hashed_password):
            raise InvalidCredentials(
                "This account has no password yet (it logs in with a provider); set one "
                "with forgot-password."
            )
        ok, _ = await self.passwords.verify(current, user.hashed_password)
        if not ok:
            raise InvalidCredentials("The current password is incorrect.")
        await self.set_password(user_id, new, keep_session=keep_session)
        await self.audit.record(
            AuditAction.PASSWORD_CHANGE, actor_id=user_id, target_id=user_id, client=client
        )

    async def set_password(
        self, user_id: int, new: str, *, keep_session: str | None = None
    ) -> None:
        """Hash and store a new password, ending every session but ``keep_session``.

        Raises:
            InvalidPassword: ``new`` fails the password policy.
            UserNotFound: there is no user ``user_id``.
        """
        self.passwords.check_policy(new)
        await self._set_hash(user_id, await self.passwords.hash(new))
        await self.sessions.revoke_all(user_id, keep=keep_session)

    async def _set_hash(self, user_id: int, hashed: str) -> None:
        async with self.session_factory() as db:
            user = await db.get(self.model, user_id)
            if user is None:
                raise UserNotFound()
            user.hashed_password = hashed
            await db.commit()

    async def delete_account(
        self, user_id: int, *, actor_id: int | None = None, client: ClientInfo = NO_CLIENT
    ) -> None:
        """Delete an account the way the app deletes accounts (the users routes call this).

        At once (:meth:`delete`), or, with an :attr:`account_deleter` (privacy enabled),
        through it: deactivated now, erased after the grace period.

        Raises:
            UserNotFound: there is no user ``user_id``.
        """
        if self.account_deleter is None:
            await self.delete(user_id, actor_id=actor_id, client=client)
        else:
            await self.account_deleter(user_id, actor_id=actor_id, client=client)

    async def delete(
        self, user_id: int, *, actor_id: int | None = None, client: ClientInfo = NO_CLIENT
    ) -> None:
        """Delete the user now and end their sessions (audited).

        The erasure of a scheduled deletion ends here too; routes call
        :meth:`delete_account`, which honours a grace period when one is configured.

        The :attr:`deletion_steps` run first, in the same transaction: one may refuse
        (e.g. 409 for the last owner of an organization that has other members).
        """
        async with self.session_factory() as db:
            user = await db.get(self.model, user_id)
            if user is None:
                raise UserNotFound()
            after = [await step(db, user) for step in self.deletion_steps]
            await db.delete(user)
            await db.commit()
        await _run(after)
        await self.sessions.revoke_all(user_id)
        await self.cache.invalidate(user_id)
        await self.audit.record(
            AuditAction.USER_DELETED, actor_id=actor_id, target_id=user_id, client=client
        )
        await self.hooks.emit_event("after_delete", user, client)

    async def page(
        self, *, limit: int = 50, offset: int = 0, email: str | None = None
    ) -> tuple[list[UserT], int]:
        """A page of users by id, optionally those whose email contains ``email``.

        An admin screen: it may read a replica (a user registered a moment ago may be
        missing for as long as the replica lags).
        """
        query = select(self.model)
        if email:
            pattern = "%" + _escape_like(normalize_email(email)) + "%"
            query = query.where(self.model.email.like(pattern, escape="\\"))

        async def read(db: AsyncSession) -> tuple[list[UserT], int]:
            total = await db.scalar(select(func.count()).select_from(query.subquery()))
            rows = await db.scalars(query.order_by(self.model.id).limit(limit).offset(offset))
            return list(rows), int(total or 0)

        return await self.reads.run(read)


async def _run(after: list[AfterCommit | None]) -> None:
    for fn in after:
        if fn is not None:
            await fn()


def _refuse_nul(values: Mapping[str, Any]) -> None:
    """Refuse NUL characters in text (422), which PostgreSQL cannot store.

    For the host's own columns too, instead of failing at the database (500).
    """
    for key, value in values.items():
        if isinstance(value, str) and "\x00" in value:
            raise InvalidInput(f"`{key}` must not contain the NUL character.")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

"""API keys: creation, listing, revocation, and the cached lookup of the hot path.

**Storage.** A row keeps the key's public identifier (unique, indexed), the keyed hash of
the whole key (:func:`saaskit.apikeys.format.hash_key`), its scopes and expiry. The key is
shown once, by :meth:`ApiKeyService.create`.

**Cache.** A key's record (hash, scopes, expiry, organization) is cached in the store under
its owner's hash tag (``{u:<uid>}:ak:<id>``), so the reader fetches it with the cached user
and the recent client IPs in one ``MGET``: a cache hit runs no SQL. A miss reads the row and
fills the cache with ``SET NX``, never overwriting what is there.

**Revocation** writes the row, then a tombstone over the cache entry (``SET``, for as long
as an entry lives). A request that read the live row just before the revocation cannot put
it back: its fill is ``NX``, and the tombstone is there. Every app process reads the same
store, so a revoked key is refused on the next request everywhere. A deleted user's keys go
with the row (the user's read fails first); a deactivated user is refused by the
dependencies; a removed member's personal key loses the organization with the membership.

**Last use.** ``last_used_at`` / ``last_used_ip`` are kept in memory and written by each
process at most every ``last_used_flush_seconds`` (one batched ``UPDATE``), and when the
kit closes: they may be that stale, and a process that dies loses its last batch.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.apikeys import format as key_format
from saaskit.apikeys.errors import (
    ApiKeyExpiryInvalid,
    ApiKeyLimitReached,
    ApiKeyNotFound,
    ApiKeyScopeInvalid,
)
from saaskit.apikeys.models import ApiKeyMixin
from saaskit.apikeys.schemas import ApiKeysSettings
from saaskit.features import AuditRecorder
from saaskit.orgs.service import OrgContext
from saaskit.store import Store
from saaskit.store.keys import user_tag
from saaskit.types import ClientInfo

__all__ = ["ACTIONS", "ApiKeyService", "KeyRecord", "record_key"]

logger = logging.getLogger("saaskit.apikeys")

ACTIONS = ("api_key_created", "api_key_revoked", "api_key_renamed", "api_key_new_ip")
"""The feature's audit actions; each event's ``detail`` has the key's public ``key_id``."""

_TOMBSTONE = b'{"x":1}'


def record_key(owner_id: int, public_id: str) -> str:
    """The store key of a key's cached record, in its owner's hash slot."""
    return f"{user_tag(owner_id)}:ak:{public_id}"


def ips_key(owner_id: int, public_id: str) -> str:
    """The store key of a key's recent client IPs (same slot)."""
    return f"{user_tag(owner_id)}:ak:{public_id}:ips"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What the hot path needs of a key (cached in the store)."""

    secret_hash: str
    scopes: frozenset[str]
    organization_id: int | None
    expires_at: float | None
    revoked: bool = False

    def encode(self) -> bytes:
        """The cached form."""
        if self.revoked:
            return _TOMBSTONE
        return json.dumps(
            {
                "h": self.secret_hash,
                "s": sorted(self.scopes),
                "o": self.organization_id,
                "e": self.expires_at,
            }
        ).encode()

    @classmethod
    def decode(cls, raw: bytes | None) -> KeyRecord | None:
        """A record from its cached form (``None``: not cached or unreadable)."""
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            if data.get("x"):
                return cls("", frozenset(), None, None, revoked=True)
            return cls(
                str(data["h"]),
                frozenset(str(s) for s in data["s"]),
                None if data["o"] is None else int(data["o"]),
                None if data["e"] is None else float(data["e"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    @classmethod
    def of(cls, row: ApiKeyMixin) -> KeyRecord:
        """The record of a row (a revoked row reads as a tombstone)."""
        return cls(
            row.secret_hash,
            frozenset(row.scopes),
            row.organization_id,
            _aware(row.expires_at).timestamp() if row.expires_at else None,
            revoked=row.revoked_at is not None,
        )


class ApiKeyService:
    """Personal and organization API keys."""

    def __init__(
        self,
        *,
        table: type[ApiKeyMixin],
        session_factory: async_sessionmaker[AsyncSession],
        store: Store,
        settings: ApiKeysSettings,
        prefix: str,
        signing_key: str,
        audit: AuditRecorder,
        organization_permissions: Collection[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.session_factory = session_factory
        self.store = store
        self.settings = settings
        self.prefix = prefix
        self._hash_key = key_format.derive_hash_key(signing_key)
        self.audit = audit
        self.declared = frozenset(settings.scopes)
        self.organization_permissions = frozenset(organization_permissions)
        self.clock = clock
        self._seen: dict[str, tuple[float, str | None]] = {}
        self._next_flush = clock() + settings.last_used_flush_seconds
        self._tasks: set[asyncio.Task[int]] = set()

    # -- secrets -----------------------------------------------------------------------

    def hash(self, key: str) -> str:
        """The stored form of ``key``."""
        return key_format.hash_key(self._hash_key, key)

    # -- management --------------------------------------------------------------------

    def _check_scopes(self, scopes: Collection[str], org: OrgContext | None) -> list[str]:
        wanted = sorted(set(scopes))
        if org is None:
            allowed = self.declared
            if any(scope not in allowed for scope in wanted):
                raise ApiKeyScopeInvalid()
            return wanted
        # An organization permission: only one the creator has there (an owner has all).
        # A scope the app declares (not an organization permission): any key manager.
        for scope in wanted:
            if scope in self.organization_permissions:
                if not org.allows(scope):
                    raise ApiKeyScopeInvalid()
            elif scope not in self.declared:
                raise ApiKeyScopeInvalid()
        return wanted

    async def create(
        self,
        user_id: int,
        name: str,
        scopes: Collection[str] = (),
        *,
        expires_at: datetime | None = None,
        org: OrgContext | None = None,
        client: ClientInfo | None = None,
    ) -> tuple[ApiKeyMixin, str]:
        """A new key of ``user_id`` (or of ``org``, made by ``user_id``) and its secret.

        Args:
            user_id: the owner of a personal key, the creator of an organization key.
            name: a label.
            scopes: what the key grants: declared scopes; for an organization key also
                organization permissions, never beyond the creator's (``org``).
            expires_at: when it stops working (future; ``None``: never).
            org: the creator's context in the organization, for an organization key.
            client: where the request came from (audit).

        Returns:
            The row and the key (shown once; only its hash is stored).

        Raises:
            ApiKeyScopeInvalid: an unknown scope, or one the creator lacks.
            ApiKeyExpiryInvalid: an expiry in the past.
            ApiKeyLimitReached: the owner has too many live keys.
        """
        granted = self._check_scopes(scopes, org)
        if expires_at is not None:
            expires_at = _aware(expires_at)
            if expires_at.timestamp() <= self.clock():
                raise ApiKeyExpiryInvalid()
        org_id = org.organization_id if org is not None else None
        key, public_id = key_format.generate(self.prefix, user_id)
        row = self.table(  # type: ignore[call-arg]
            public_id=public_id,
            secret_hash=self.hash(key),
            name=name,
            scopes=granted,
            organization_id=org_id,
            user_id=user_id,
            expires_at=expires_at,
        )
        async with self.session_factory() as db, db.begin():
            if await self._live_count(db, user_id, org_id) >= self.settings.max_keys_per_owner:
                raise ApiKeyLimitReached()
            db.add(row)
            await db.flush()
            await db.refresh(row)
        await self._record("api_key_created", row, user_id, client, {"scopes": granted})
        return row, key

    async def _live_count(self, db: AsyncSession, user_id: int, org_id: int | None) -> int:
        table = self.table
        query = select(func.count()).select_from(table).where(table.revoked_at.is_(None))
        if org_id is None:
            query = query.where(table.user_id == user_id, table.organization_id.is_(None))
        else:
            query = query.where(table.organization_id == org_id)
        return int((await db.execute(query)).scalar_one())

    def _owned(self, user_id: int | None, org_id: int | None) -> Any:
        table = self.table
        if org_id is not None:
            return table.organization_id == org_id
        return (table.user_id == user_id) & table.organization_id.is_(None)

    async def list_keys(
        self, *, user_id: int | None = None, org_id: int | None = None
    ) -> list[Any]:
        """The live (unrevoked) keys of a user (personal) or of an organization."""
        table = self.table
        async with self.session_factory() as db:
            rows = await db.scalars(
                select(table)
                .where(self._owned(user_id, org_id), table.revoked_at.is_(None))
                .order_by(table.id)
            )
            return list(rows)

    async def rename(
        self,
        public_id: str,
        name: str,
        *,
        user_id: int | None = None,
        org_id: int | None = None,
        actor_id: int | None = None,
        client: ClientInfo | None = None,
    ) -> ApiKeyMixin:
        """Rename a live key of the user (personal) or the organization.

        Raises:
            ApiKeyNotFound: no such live key there.
        """
        table = self.table
        async with self.session_factory() as db, db.begin():
            row = await db.scalar(
                select(table).where(
                    table.public_id == public_id,
                    self._owned(user_id, org_id),
                    table.revoked_at.is_(None),
                )
            )
            if row is None:
                raise ApiKeyNotFound()
            row.name = name
        await self._record("api_key_renamed", row, actor_id, client, {})
        return row

    async def revoke(
        self,
        public_id: str,
        *,
        user_id: int | None = None,
        org_id: int | None = None,
        actor_id: int | None = None,
        client: ClientInfo | None = None,
    ) -> ApiKeyMixin:
        """Revoke a key for good: refused on the next request, on every process.

        Raises:
            ApiKeyNotFound: no such live key of the user (personal) or organization.
        """
        table = self.table
        async with self.session_factory() as db, db.begin():
            row = await db.scalar(
                select(table).where(
                    table.public_id == public_id,
                    self._owned(user_id, org_id),
                    table.revoked_at.is_(None),
                )
            )
            if row is None:
                raise ApiKeyNotFound()
            row.revoked_at = _now()
        await self.forget(row.user_id, row.public_id)
        await self._record("api_key_revoked", row, actor_id, client, {})
        return row

    async def revoke_for_user(self, user_id: int, public_id: str) -> ApiKeyMixin:
        """Revoke one of ``user_id``'s keys, personal or organization (the CLI)."""
        table = self.table
        async with self.session_factory() as db:
            org_id = await db.scalar(
                select(table.organization_id).where(
                    table.public_id == public_id, table.user_id == user_id
                )
            )
        if org_id is not None:
            return await self.revoke(public_id, org_id=org_id, actor_id=user_id)
        return await self.revoke(public_id, user_id=user_id, actor_id=user_id)

    async def forget(self, owner_id: int, public_id: str) -> None:
        """Put a tombstone over the key's cache entry (it outlives any cached record)."""
        await self.store.put(
            record_key(owner_id, public_id), _TOMBSTONE, self.settings.cache_seconds
        )

    async def forget_organization(self, org_id: int) -> None:
        """Tombstone the cache entries of an organization's keys (it is being deleted)."""
        table = self.table
        async with self.session_factory() as db:
            rows = (
                await db.execute(
                    select(table.user_id, table.public_id).where(table.organization_id == org_id)
                )
            ).all()
        for owner_id, public_id in rows:
            await self.forget(owner_id, public_id)

    # -- the hot path's miss -----------------------------------------------------------

    async def load(self, owner_id: int, public_id: str) -> KeyRecord | None:
        """The key's record from the database, cached (``SET NX``) for the next request.

        ``None`` for an unknown key, or one whose owner is not ``owner_id``.
        """
        table = self.table
        async with self.session_factory() as db:
            row = await db.scalar(select(table).where(table.public_id == public_id))
        if row is None or row.user_id != owner_id:
            return None
        record = KeyRecord.of(row)
        await self.store.claim(
            record_key(owner_id, public_id), self.settings.cache_seconds, record.encode()
        )
        return record

    def check(self, record: KeyRecord, hashed: str) -> bool:
        """Whether the key hashed to ``hashed`` (:meth:`hash`) is ``record``'s and still works.

        The hashes are compared in constant time.
        """
        if record.revoked:
            return False
        if not hmac.compare_digest(hashed, record.secret_hash):
            return False
        return record.expires_at is None or record.expires_at > self.clock()

    # -- recent IPs and last use ---------------------------------------------------------

    async def seen_from(
        self, owner_id: int, public_id: str, record: KeyRecord, ip: str | None, raw: bytes | None
    ) -> None:
        """Remember ``ip`` for the key; audit the first use from an IP not seen lately."""
        if ip is None:
            return
        try:
            recent = [str(item) for item in json.loads(raw)] if raw else []
        except (ValueError, TypeError):
            recent = []
        if ip in recent:
            return
        recent = [ip, *recent][: self.settings.recent_ips]
        await self.store.put(ips_key(owner_id, public_id), json.dumps(recent).encode())
        await self.audit.record(
            "api_key_new_ip",
            actor_id=owner_id,
            target_id=owner_id,
            client=ClientInfo(ip=ip),
            detail={"key_id": public_id, "organization_id": record.organization_id},
        )

    def touch(self, public_id: str, ip: str | None) -> None:
        """Note a use of the key; written in a batch every ``last_used_flush_seconds``."""
        now = self.clock()
        self._seen[public_id] = (now, ip)
        if now >= self._next_flush:
            self._next_flush = now + self.settings.last_used_flush_seconds
            task = asyncio.get_running_loop().create_task(self.flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def flush(self) -> int:
        """Write the last uses noted since the previous flush (one ``UPDATE``, batched).

        Returns:
            How many keys were written (a failure is logged; those uses are dropped).
        """
        seen, self._seen = self._seen, {}
        if not seen:
            return 0
        table = self.table.__table__  # type: ignore[attr-defined]
        statement = (
            update(table)
            .where(table.c.public_id == bindparam("b_id"))
            .values(last_used_at=bindparam("b_at"), last_used_ip=bindparam("b_ip"))
        )
        rows = [
            {"b_id": public_id, "b_at": datetime.fromtimestamp(at, UTC), "b_ip": ip}
            for public_id, (at, ip) in seen.items()
        ]
        try:
            async with self.session_factory() as db, db.begin():
                await db.execute(statement, rows)
        except Exception:
            logger.exception("could not write the last use of %d API keys", len(rows))
            return 0
        return len(rows)

    async def aclose(self) -> None:
        """Wait for flushes under way, then write what is left."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.flush()

    async def _record(
        self,
        action: str,
        row: ApiKeyMixin,
        actor_id: int | None,
        client: ClientInfo | None,
        detail: dict[str, Any],
    ) -> None:
        await self.audit.record(
            action,
            actor_id=actor_id,
            target_id=row.user_id if row.organization_id is None else None,
            client=client,
            detail={
                "key_id": row.public_id,
                "name": row.name,
                "organization_id": row.organization_id,
                **detail,
            },
        )

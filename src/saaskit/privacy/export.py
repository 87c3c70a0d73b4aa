"""Data exports (GDPR art. 15/20): request, build in the background, download, expire.

- **Request** (``POST /privacy/exports``): one per user per
  ``export_interval_hours`` (failed ones do not count), checked in the database under a
  short store lock so two concurrent requests cannot both pass (Discourse's "NX key plus
  a DB check"). The export row is written, then the ``privacy.export`` task is queued.
- **Build** (the task, in-process or on a Celery worker): every exporter's records are
  streamed into a zip in a temporary file (:mod:`saaskit.privacy.archive`), which is
  handed to the storage backend; the row becomes ``ready`` with its expiry, and the user
  is emailed a link to the frontend page that downloads it. A transient failure (Stripe
  down for the invoices, the database) is retried by the runner; the task is idempotent
  (a ``ready`` export is not rebuilt).
- **Download**: only by its owner, signed in; any number of times until it expires. An
  id of someone else's export is "not found", like an unknown one.
- **Expiry** (:meth:`ExportService.expire`, from the ``privacy.sweep`` task): archives
  past their expiry are deleted from the storage; the row stays, ``expired``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.exceptions import RateLimited
from saaskit.features import AuditRecorder
from saaskit.privacy.archive import ArchiveWriter
from saaskit.privacy.errors import ExportExpired, ExportNotFound, ExportNotReady
from saaskit.privacy.exporters import Exporter
from saaskit.privacy.models import DataExportMixin
from saaskit.privacy.schemas import PrivacySettings
from saaskit.privacy.storage import ArchiveStorage
from saaskit.store import Store
from saaskit.tasks.runner import TaskRunner, TransientError
from saaskit.tasks.typed import TaskDef, enqueue
from saaskit.types import ClientInfo

__all__ = ["EXPORT_EMAIL", "EXPORT_TASK", "BuildExport", "ExportReadyEmail", "ExportService"]

logger = logging.getLogger("saaskit.privacy")

PENDING, RUNNING, READY, FAILED, EXPIRED = "pending", "running", "ready", "failed", "expired"
MAX_ATTEMPTS = 5
"""Builds of one export before it is marked failed (each transient failure is one)."""
LOCK_SECONDS = 30


@dataclass(frozen=True, slots=True)
class BuildExport:
    """The task that builds export ``export_id``."""

    export_id: int


@dataclass(frozen=True, slots=True)
class ExportReadyEmail:
    """The email saying an export can be downloaded, until ``expires_at``."""

    to: str
    export_id: str
    expires_at: str
    name: str | None = None


EXPORT_TASK = TaskDef("privacy.export", BuildExport)
EXPORT_EMAIL = TaskDef("privacy.export_email", ExportReadyEmail)


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (SQLite gives naive ones back)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def storage_key(user_id: int, public_id: str) -> str:
    """Where an export's archive is stored."""
    return f"exports/{user_id}/{public_id}.zip"


class ExportService:
    """Requests, builds, serves and expires data exports.

    Args:
        table: the ``privacy_exports`` table.
        session_factory: database sessions.
        store: the kit's store (the request lock).
        storage: where archives are kept.
        runner: queues the build and the email.
        settings: the privacy settings.
        audit: the kit's audit log.
        exporters: what an export gathers (called at build time, so exporters registered
            later are included).
        load_user: ``async (user_id) -> user | None``.
        clock: now, in UTC (tests move it).
    """

    def __init__(
        self,
        *,
        table: type[DataExportMixin],
        session_factory: async_sessionmaker[AsyncSession],
        store: Store,
        storage: ArchiveStorage,
        runner: TaskRunner,
        settings: PrivacySettings,
        audit: AuditRecorder,
        exporters: Callable[[], Sequence[Exporter]],
        load_user: Callable[[int], Any],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.table = table
        self.session_factory = session_factory
        self.store = store
        self.storage = storage
        self.runner = runner
        self.settings = settings
        self.audit = audit
        self.exporters = exporters
        self.load_user = load_user
        self.clock = clock

    async def request(self, user_id: int, *, client: ClientInfo | None = None) -> DataExportMixin:
        """Record an export request and queue its build.

        Raises:
            RateLimited: the user had an export (not failed) within the interval.
        """
        lock = f"privacy:export-lock:{user_id}"
        if not await self.store.claim(lock, LOCK_SECONDS):
            raise RateLimited(LOCK_SECONDS, "An export is already being requested.")
        try:
            row = await self._insert(user_id)
        finally:
            await self.store.delete(lock)
        await self.audit.record(
            "data_export_requested",
            actor_id=user_id,
            target_id=user_id,
            client=client,
            detail={"export_id": row.id},
        )
        await enqueue(self.runner, EXPORT_TASK, BuildExport(row.id))
        return row

    async def _insert(self, user_id: int) -> DataExportMixin:
        table, now = self.table, self.clock()
        interval = timedelta(hours=self.settings.export_interval_hours)
        async with self.session_factory() as db, db.begin():
            if interval:
                last = await db.scalar(
                    select(func.max(table.created_at)).where(
                        table.user_id == user_id, table.status != FAILED
                    )
                )
                if last is not None and utc(last) + interval > now:
                    wait = int((utc(last) + interval - now).total_seconds()) + 1
                    raise RateLimited(wait, "One data export per day; try again later.")
            row = table(  # type: ignore[call-arg]
                public_id=secrets.token_urlsafe(32), user_id=user_id, status=PENDING, created_at=now
            )
            db.add(row)
        return row

    async def mine(self, user_id: int, limit: int = 20) -> list[DataExportMixin]:
        """The user's exports, newest first."""
        table = self.table
        async with self.session_factory() as db:
            rows = await db.scalars(
                select(table).where(table.user_id == user_id).order_by(table.id.desc()).limit(limit)
            )
            return list(rows)

    async def get(self, user_id: int, public_id: str) -> DataExportMixin:
        """The user's export ``public_id``.

        Raises:
            ExportNotFound: no such export of this user (another user's included).
        """
        table = self.table
        async with self.session_factory() as db:
            row = await db.scalar(
                select(table).where(table.public_id == public_id, table.user_id == user_id)
            )
        if row is None:
            raise ExportNotFound()
        return self._current(row)

    def _current(self, row: DataExportMixin) -> DataExportMixin:
        # A ready export past its expiry reads as expired before the sweep deletes it.
        if row.status == READY and row.expires_at and utc(row.expires_at) <= self.clock():
            row.status = EXPIRED
        return row

    async def download(
        self, user_id: int, public_id: str, *, client: ClientInfo | None = None
    ) -> tuple[DataExportMixin, AsyncIterator[bytes]]:
        """The export and its archive's bytes, for its owner.

        Raises:
            ExportNotFound: not the user's export.
            ExportNotReady: still being built, or the build failed.
            ExportExpired: past its expiry (the archive is, or is about to be, deleted).
        """
        row = await self.get(user_id, public_id)
        if row.status == EXPIRED:
            raise ExportExpired()
        if row.status != READY:
            raise ExportNotReady()
        stream = self.storage.open(storage_key(user_id, public_id))
        try:
            first = await anext(aiter(stream), b"")
        except FileNotFoundError:
            raise ExportExpired() from None
        await self.audit.record(
            "data_export_downloaded",
            actor_id=user_id,
            target_id=user_id,
            client=client,
            detail={"export_id": row.id},
        )

        async def chunks() -> AsyncIterator[bytes]:
            yield first
            async for chunk in stream:
                yield chunk

        return row, chunks()

    async def build(self, task: BuildExport) -> None:
        """The ``privacy.export`` task: build the archive, store it, email the link.

        Raises:
            TransientError: a part could not be read for now (retried by the runner).
        """
        table = self.table
        async with self.session_factory() as db, db.begin():
            row = await db.get(table, task.export_id, with_for_update=True)
            if row is None or row.status not in (PENDING, RUNNING):
                return  # done, expired or failed: a redelivered task does nothing
            row.status, row.attempts = RUNNING, row.attempts + 1
            user_id, public_id, attempts = row.user_id, row.public_id, row.attempts
        user = await self.load_user(user_id)
        if user is None:
            await self._finish(task.export_id, FAILED)
            return
        now = self.clock()
        with tempfile.TemporaryDirectory(prefix="saaskit-export-") as folder:
            path = Path(folder) / "export.zip"
            try:
                size = await self._write(path, user_id, now)
            except Exception as error:
                transient = isinstance(error, TransientError | OSError) or _retryable(error)
                if transient and attempts < MAX_ATTEMPTS:
                    await self._finish(task.export_id, PENDING)
                    raise TransientError(
                        f"export {task.export_id}: {type(error).__name__}"
                    ) from error
                logger.exception("export %s failed", task.export_id)
                await self._finish(task.export_id, FAILED)
                return
            await self.storage.save(storage_key(user_id, public_id), path)
        expires = self.clock() + timedelta(hours=self.settings.export_link_hours)
        await self._finish(task.export_id, READY, expires_at=expires, size_bytes=size)
        await enqueue(
            self.runner,
            EXPORT_EMAIL,
            ExportReadyEmail(
                to=user.email,
                export_id=public_id,
                expires_at=expires.isoformat(),
                name=getattr(user, "full_name", None),
            ),
        )

    async def _write(self, path: Path, user_id: int, now: datetime) -> int:
        archive = ArchiveWriter(path, user_id=user_id, created_at=now)
        try:
            for exporter in self.exporters():
                async with archive.part(exporter.name) as part:
                    async for record in exporter.records(user_id):
                        part.write(record)
            archive.close()
        except BaseException:
            archive.abort()
            raise
        return await asyncio.to_thread(os.path.getsize, path)

    async def _finish(self, export_id: int, status: str, **values: Any) -> None:
        table = self.table
        finished = self.clock() if status in (READY, FAILED) else None
        async with self.session_factory() as db, db.begin():
            await db.execute(
                update(table)
                .where(table.id == export_id)
                .values(status=status, finished_at=finished, **values)
            )

    async def expire(self) -> int:
        """Delete the archives past their expiry; returns how many.

        Also queues again the builds the runner gave up on after transient failures
        (Stripe down longer than its retries), and marks failed the exports still not
        built a day after their request.
        """
        table, now = self.table, self.clock()
        async with self.session_factory() as db:
            due = (
                await db.execute(
                    select(table.id, table.user_id, table.public_id).where(
                        table.status == READY, table.expires_at <= now
                    )
                )
            ).all()
        for export_id, user_id, public_id in due:
            await self.storage.delete(storage_key(user_id, public_id))
            async with self.session_factory() as db, db.begin():
                await db.execute(update(table).where(table.id == export_id).values(status=EXPIRED))
        async with self.session_factory() as db, db.begin():
            await db.execute(
                update(table)
                .where(
                    table.status.in_((PENDING, RUNNING)),
                    table.created_at <= now - timedelta(days=1),
                )
                .values(status=FAILED, finished_at=now)
            )
            # Builds the runner gave up on after transient failures: queued again.
            retry = list(
                await db.scalars(
                    select(table.id).where(table.status == PENDING, table.attempts >= 1)
                )
            )
        for export_id in retry:
            await enqueue(self.runner, EXPORT_TASK, BuildExport(export_id))
        return len(due)

    async def forget_user(self, user_id: int) -> int:
        """Delete every archive and export row of the user (account erasure)."""
        table = self.table
        async with self.session_factory() as db:
            rows = (await db.execute(select(table.public_id).where(table.user_id == user_id))).all()
        for (public_id,) in rows:
            await self.storage.delete(storage_key(user_id, public_id))
        async with self.session_factory() as db, db.begin():
            await db.execute(table.__table__.delete().where(table.user_id == user_id))  # type: ignore[attr-defined]
        return len(rows)


def _retryable(error: BaseException) -> bool:
    from saaskit.tasks.runner import RETRYABLE

    return isinstance(error, RETRYABLE)

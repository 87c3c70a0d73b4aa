"""The sample feature's rules, HTTP-free: a user keeps at most ``max_notes`` notes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.exceptions import SaaSKitError
from saaskit.features import AuditRecorder
from saaskit.hooks import HookEvent, Hooks
from saaskit.types import ClientInfo
from tests.features.sample.models import SampleNoteMixin
from tests.features.sample.schemas import SampleSettings

NOTE_CREATED_ACTION = "sample_note_created"
"""The audit action of a new note."""

NOTE_CREATED: HookEvent[[int, str, ClientInfo]] = HookEvent("sample_note_created")
"""Hook event: a note was created (the user's id, the text, the client)."""


class NoteLimitReached(SaaSKitError):
    """The user already keeps ``max_notes`` notes."""

    code = "sample_note_limit"
    status = 409
    message = "You keep as many notes as allowed; delete one first."


class NoteService:
    """Creates, lists, exports and erases notes."""

    def __init__(
        self,
        model: type[SampleNoteMixin],
        session_factory: async_sessionmaker[AsyncSession],
        settings: SampleSettings,
        audit: AuditRecorder,
        hooks: Hooks[Any],
    ) -> None:
        self.model = model
        self.session_factory = session_factory
        self.settings = settings
        self.audit = audit
        self.hooks = hooks

    async def create(self, user_id: int, text: str, client: ClientInfo) -> SampleNoteMixin:
        """Add a note; raises :class:`NoteLimitReached` past ``max_notes``."""
        async with self.session_factory() as db, db.begin():
            count = await db.scalar(select(func.count()).where(self.model.user_id == user_id))
            if (count or 0) >= self.settings.max_notes:
                raise NoteLimitReached()
            note = self.model(user_id=user_id, text=text)  # type: ignore[call-arg]
            db.add(note)
        await self.audit.record(
            NOTE_CREATED_ACTION, actor_id=user_id, client=client, detail={"note_id": note.id}
        )
        await self.hooks.fire(NOTE_CREATED, user_id, text, client)
        return note

    async def notes(self, user_id: int) -> list[SampleNoteMixin]:
        """The user's notes, oldest first."""
        async with self.session_factory() as db:
            rows = await db.scalars(
                select(self.model).where(self.model.user_id == user_id).order_by(self.model.id)
            )
            return list(rows)


class NoteExporter:
    """The user's notes in a privacy export."""

    name = "sample_notes"

    def __init__(self, service: NoteService) -> None:
        self.service = service

    async def export(self, user_id: int) -> list[dict[str, Any]]:
        return [{"id": n.id, "text": n.text} for n in await self.service.notes(user_id)]


class NoteEraser:
    """Deletes the user's notes."""

    name = "sample_notes"

    def __init__(self, service: NoteService) -> None:
        self.service = service

    async def erase(self, user_id: int) -> int:
        model = self.service.model
        async with self.service.session_factory() as db, db.begin():
            result = await db.execute(delete(model).where(model.user_id == user_id))
        return int(getattr(result, "rowcount", 0) or 0)

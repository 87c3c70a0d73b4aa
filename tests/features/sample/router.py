"""``POST /sample/notes`` and ``GET /sample/notes`` for the signed-in user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from saaskit.errors import error_responses
from saaskit.features import FeatureHost
from saaskit.routing import body_limits, new_router
from tests.features.sample.schemas import NoteCreate, NoteRead
from tests.features.sample.service import NoteService


def build_sample_router(kit: FeatureHost, service: NoteService) -> APIRouter:
    """The notes routes (the kit mounts them at ``/api/v1/sample``)."""
    router = new_router(body_limits(kit.settings.http))
    current_user = kit.current_active_user

    @router.post(
        "/notes",
        name="sample:create_note",
        response_model=NoteRead,
        status_code=201,
        responses=error_responses(401, 409, 422),
    )
    async def create_note(
        body: NoteCreate, request: Request, user: Any = Depends(current_user)
    ) -> NoteRead:
        note = await service.create(user.id, body.text, kit.client_info(request))
        return NoteRead(id=note.id, text=note.text)

    @router.get(
        "/notes",
        name="sample:list_notes",
        response_model=list[NoteRead],
        responses=error_responses(401),
    )
    async def list_notes(user: Any = Depends(current_user)) -> list[NoteRead]:
        return [NoteRead(id=n.id, text=n.text) for n in await service.notes(user.id)]

    return router

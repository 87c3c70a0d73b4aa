"""The sample feature's contribution to the kit: all a new feature adds to register itself."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from fastapi import APIRouter

from saaskit.features import Feature, FeatureHost
from tests.features.sample.models import SAMPLE_TABLES, SampleNoteMixin
from tests.features.sample.router import build_sample_router
from tests.features.sample.schemas import SampleSettings
from tests.features.sample.service import (
    NOTE_CREATED,
    NOTE_CREATED_ACTION,
    NoteEraser,
    NoteExporter,
    NoteLimitReached,
    NoteService,
)


# --8<-- [start:feature]
class SampleFeature(Feature[NoteService]):
    """Notes a user keeps: ``/api/v1/sample/notes``."""

    name = "sample"  # kit.feature("sample"), SAASKIT_SAMPLE__*, the Alembic branch
    settings_model = SampleSettings
    prefix = "/sample"
    tags = ("sample",)
    tables = SAMPLE_TABLES
    errors = (NoteLimitReached,)  # code "sample_note_limit", status 409
    audit_actions = (NOTE_CREATED_ACTION,)
    hook_events = (NOTE_CREATED,)
    migrations = Path(__file__).parent / "migrations"

    def __init__(self, settings: SampleSettings | None = None) -> None:
        self.settings = settings  # else read from SAASKIT_SAMPLE__*

    def build(self, kit: FeatureHost) -> NoteService:
        return NoteService(
            cast(type[SampleNoteMixin], kit.models.tables["sample_note"]),
            kit.session_factory,
            cast(SampleSettings, kit.feature_settings(self.name)),
            kit.audit,
            kit.hooks,
        )

    def router(self, kit: FeatureHost, service: NoteService | None) -> APIRouter:
        assert service is not None  # built with the kit: the feature is never disabled
        return build_sample_router(kit, service)

    def exporters(self, service: NoteService) -> tuple[NoteExporter]:
        return (NoteExporter(service),)

    def erasers(self, service: NoteService) -> tuple[NoteEraser]:
        return (NoteEraser(service),)


# --8<-- [end:feature]

"""The sample feature's settings section and bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SampleSettings(BaseModel):
    """``SAASKIT_SAMPLE__*``: read by the kit without a line in saaskit's settings."""

    max_notes: int = Field(3, ge=1, description="Notes one user may keep.")


class NoteCreate(BaseModel):
    text: str = Field(min_length=1, max_length=200)


class NoteRead(BaseModel):
    id: int
    text: str

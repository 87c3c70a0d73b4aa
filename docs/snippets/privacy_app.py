"""A host app's own data in exports and erasures: an exporter and an erasure hook."""

from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.privacy import ErasureContext, PrivacyFeature, PrivacySettings

NOTES: dict[int, list[str]] = {}  # stands for the host's own table


# --8<-- [start:parts]
class NotesExporter:
    """The user's notes: ``notes.json`` in their export."""

    name = "notes"

    async def records(self, user_id: int) -> AsyncIterator[dict[str, Any]]:
        """The user's notes, one record each."""
        for text in NOTES.get(user_id, []):  # a real app pages through its table
            yield {"text": text}


async def erase_notes(context: ErasureContext) -> None:
    """Runs once the grace period is over; must be idempotent (it may run again)."""
    NOTES.pop(context.user_id, None)


kit = SaaSKit(
    SaaSKitSettings(),
    features=[
        PrivacyFeature(
            PrivacySettings(enabled=True),  # or SAASKIT_PRIVACY__ENABLED=true
            exporters=[NotesExporter()],
            erasure_hooks={"notes": erase_notes},
        )
    ],
)
# --8<-- [end:parts]
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)

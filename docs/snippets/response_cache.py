"""A host route cached per user in the store, invalidated when the data changes."""

from typing import Any

from fastapi import Depends, FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.models import User

kit = SaaSKit(SaaSKitSettings())
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)

NOTES: dict[int, list[str]] = {}  # stands for the host's own tables


async def load_summary(user_id: int) -> dict[str, Any]:
    notes = NOTES.get(user_id, [])
    return {"notes": len(notes), "latest": notes[-1] if notes else None}


@app.get("/api/v1/summary")
async def summary(user: User = Depends(kit.current_active_user)) -> Any:
    return await kit.cache.get_or_build(
        kit.cache.user(user.id), "summary", lambda: load_summary(user.id), ttl=300
    )


@app.post("/api/v1/notes", status_code=201)
async def add_note(text: str, user: User = Depends(kit.current_active_user)) -> None:
    NOTES.setdefault(user.id, []).append(text)
    # The change is written: drop the cached summary (or the whole scope: no name).
    await kit.cache.invalidate(kit.cache.user(user.id), "summary")

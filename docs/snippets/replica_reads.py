"""A host route whose lag-tolerant read goes to a read replica when one is configured."""

from fastapi import Depends, FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.models import User

kit = SaaSKit(SaaSKitSettings())
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)


async def count_users(db: AsyncSession) -> int:
    # Only reads: it may run twice (on a replica that fails half-way, then the primary).
    return int(await db.scalar(select(func.count()).select_from(User)) or 0)


@app.get("/stats/users")
async def user_count(_: User = Depends(kit.current_superuser)) -> dict[str, int]:
    return {"users": await kit.reads.run(count_users)}

"""The host app: one SaaSKit, wired explicitly, guarding the host's own routes."""

from typing import Annotated

from fastapi import Depends, FastAPI

from myapp.models import User, saaskit_models
from myapp.schemas import MyUserCreate, MyUserRead, MyUserUpdate
from saaskit import SaaSKit, SaaSKitSettings

# --8<-- [start:kit]
kit = SaaSKit(
    SaaSKitSettings(),  # read from SAASKIT_* environment variables and .env
    user_model=User,
    models=saaskit_models,  # saaskit's tables, declared in myapp.models
    user_read_schema=MyUserRead,  # responses show `company`
    user_create_schema=MyUserCreate,  # registration accepts `company`
    user_update_schema=MyUserUpdate,  # PATCH /users/me may change `company`
)
app = FastAPI(title="myapp", lifespan=kit.lifespan)
kit.install(app)
# --8<-- [end:kit]

# --8<-- [start:routes]
CurrentUser = Annotated[User, Depends(kit.current_active_user)]
VerifiedUser = Annotated[User, Depends(kit.current_verified_user)]
Superuser = Annotated[User, Depends(kit.current_superuser)]


@app.get("/api/v1/company")
async def my_company(user: CurrentUser) -> dict[str, str | None]:
    """Any active, logged-in user (401 otherwise)."""
    return {"company": user.company}


@app.get("/api/v1/reports")
async def reports(user: VerifiedUser) -> list[str]:
    """Only users whose email is verified (403 `permission_denied` otherwise)."""
    return [f"report for {user.email}"]


@app.get("/api/v1/admin/stats")
async def admin_stats(admin: Superuser) -> dict[str, int]:
    """Only superusers (403 `permission_denied` otherwise)."""
    _, total = await kit.users.page(limit=1)
    return {"users": total}


# --8<-- [end:routes]

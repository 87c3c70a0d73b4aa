"""acme: the FastAPI app, with saaskit's routers and the app's own routes.

Serve it with ``saaskit run`` (development) or ``saaskit run --host 0.0.0.0 --workers 4``.
"""

from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel
from saaskit import SaaSKit, SaaSKitSettings
from saaskit.billing.plans import UserPlan
from saaskit.orgs.service import OrgContext

from app.models import User, saaskit_models
from app.schemas import UserCreate, UserRead, UserUpdate

kit = SaaSKit(
    SaaSKitSettings(),  # SAASKIT_* environment variables, then .env
    user_model=User,
    models=saaskit_models,
    user_read_schema=UserRead,
    user_create_schema=UserCreate,
    user_update_schema=UserUpdate,
)
app = FastAPI(title="acme", lifespan=kit.lifespan)
kit.install(app)  # saaskit's routers under /api/v1, /health, error handlers, middleware

CurrentUser = Annotated[User, Depends(kit.current_active_user)]
# The caller's organization (from the path's org_id) and their role in it.
CurrentOrg = Annotated[OrgContext, Depends(kit.current_org)]
OrgAdmin = Annotated[OrgContext, Depends(kit.require_org_permission("members:manage"))]


@app.get("/api/v1/hello", tags=["acme"])
async def hello(user: CurrentUser) -> dict[str, str | None]:
    """Any active, logged-in user (401 without a valid access token)."""
    return {"message": f"Hello, {user.email}!", "company": user.company}


@app.get("/api/v1/orgs/{org_id}/dashboard", tags=["acme"])
async def org_dashboard(org: CurrentOrg) -> dict[str, str]:
    """Members of the organization (404 for anyone else, as for one that does not exist)."""
    return {"organization": org.name, "role": org.role}


@app.get("/api/v1/orgs/{org_id}/team-settings", tags=["acme"])
async def org_team_settings(org: OrgAdmin) -> dict[str, str]:
    """Members whose role has `members:manage` (owners, admins); 403 for a plain member."""
    return {"organization": org.slug, "managed_by": org.role}


@app.get("/api/v1/reports", tags=["acme"])
async def reports(
    plan: Annotated[UserPlan, Depends(kit.require_plan("pro"))],
) -> dict[str, str | None]:
    """Users on the pro plan only (402 without a subscription, 403 on another plan)."""
    return {"plan": plan.key}


# --8<-- [start:protected]
VerifiedUser = Annotated[User, Depends(kit.current_verified_user)]


class Company(BaseModel):
    name: str | None
    contact: str


@app.get("/api/v1/company", tags=["acme"])
async def company(user: VerifiedUser) -> Company:
    """The user's company: 401 without a valid token, 403 until the email is verified."""
    return Company(name=user.company, contact=user.email)


# --8<-- [end:protected]


# --8<-- [start:gated]
@app.get("/api/v1/reports/monthly", tags=["acme"])
async def monthly_report(
    user: CurrentUser,
    plan: Annotated[UserPlan, Depends(kit.require_feature("reports"))],
) -> dict[str, str | None]:
    """Plans that grant "reports": 402 without a subscription, 403 on a plan without it."""
    return {"report": f"Monthly report for {user.email}", "plan": plan.key}


# --8<-- [end:gated]

"""Host routes scoped to an organization: from the path, or from the X-Organization header."""

from typing import Any

from fastapi import Depends, FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.orgs.service import OrgContext

kit = SaaSKit(SaaSKitSettings())
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)

PROJECTS: dict[int, list[str]] = {}  # stands for the host's own tables


# --8<-- [start:routes]
@app.get("/api/v1/orgs/{org_id}/projects")
async def projects(org: OrgContext = Depends(kit.current_org)) -> Any:
    # Any member: a non-member gets 404, as for an organization that does not exist.
    return PROJECTS.get(org.organization_id, [])


@app.post("/api/v1/projects", status_code=201)
async def add_project(
    name: str, org: OrgContext = Depends(kit.require_org_permission("members:manage"))
) -> Any:
    # The organization comes from the X-Organization header; 403 without the permission.
    PROJECTS.setdefault(org.organization_id, []).append(name)
    return {"organization": org.slug, "project": name}


@app.delete("/api/v1/orgs/{org_id}/projects")
async def clear_projects(org: OrgContext = Depends(kit.require_org_role("owner"))) -> None:
    PROJECTS.pop(org.organization_id, None)


# --8<-- [end:routes]

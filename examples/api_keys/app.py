"""A host app whose customers call its API with API keys (scoped, personal or organization)."""

from typing import Annotated, Any

from fastapi import Depends, FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.apikeys import ApiKeysSettings
from saaskit.apikeys.wiring import ApiKeysFeature
from saaskit.auth.credentials import Principal

# --8<-- [start:app]
# The scopes this app declares: what a key may be given (SAASKIT_API_KEYS__SCOPES works too).
api_keys = ApiKeysFeature(ApiKeysSettings(scopes=["reports:read", "reports:write"]))
kit = SaaSKit(SaaSKitSettings(), features=[api_keys])
app = FastAPI(title="API keys example", lifespan=kit.lifespan)
kit.install(app)  # /api/v1/api-keys to manage keys (with a login session)

Reader = Annotated[Principal[Any], Depends(kit.require_scopes("reports:read"))]


@app.get("/api/v1/reports")
async def reports(principal: Reader) -> dict[str, Any]:
    """A login session or a key with `reports:read` (an organization key acts for its org)."""
    return {
        "owner": principal.organization_id or principal.user.id,
        "via": principal.method,
        "reports": ["2026-11", "2026-12"],
    }


# --8<-- [end:app]

"""A host app using ``kit.authenticate``: scopes and an optional user (docs/auth.md)."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.auth.credentials import Principal
from saaskit.models import User


def create_app(settings: SaaSKitSettings | None = None) -> FastAPI:
    """The app; settings default to the environment."""
    kit = SaaSKit(settings or SaaSKitSettings())
    app = FastAPI(lifespan=kit.lifespan)
    kit.install(app)
    app.state.kit = kit

    # --8<-- [start:authenticate]
    reports_read = kit.authenticate(scopes={"reports:read"})

    @app.get("/reports")
    async def reports(p: Principal[User] = Depends(reports_read)) -> dict[str, str]:
        # p.method: "session" for a login (all scopes); an API key has only its own scopes
        return {"by": p.method, "user": p.user.email}

    @app.get("/teaser")
    async def teaser(
        user: User | None = Depends(kit.authenticate(auto_error=False).user),
    ) -> dict[str, bool]:
        # None without a credential; a bad token is still 401, never anonymous
        return {"signed_in": user is not None}

    # --8<-- [end:authenticate]
    return app

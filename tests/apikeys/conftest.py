"""Fixtures of the API key tests: a kit with declared scopes and a host route per scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from saaskit import SaaSKit
from saaskit.apikeys.schemas import ApiKeysSettings
from saaskit.apikeys.wiring import ApiKeysFeature
from saaskit.auth.credentials import Principal
from saaskit.email.memory import MemorySender
from saaskit.orgs.service import OrgContext
from saaskit.store import Store
from tests.helpers import make_settings, new_store

SCOPES = ["reports:read", "reports:write"]


def settings(**api_keys: Any) -> ApiKeysSettings:
    return ApiKeysSettings(**{"scopes": SCOPES, **api_keys})


def host_app(kit: SaaSKit[Any]) -> FastAPI:
    """The kit's routes plus host routes guarded by scopes and the organization."""
    app = FastAPI(lifespan=kit.lifespan)

    @app.get("/reports")
    async def reports(p: Principal[Any] = Depends(kit.require_scopes("reports:read"))) -> Any:
        return {"user": p.user.id, "method": p.method, "org": p.organization_id}

    @app.post("/reports")
    async def write(p: Principal[Any] = Depends(kit.require_scopes("reports:write"))) -> Any:
        return {"ok": True}

    @app.get("/whoami")
    async def whoami(user: Any = Depends(kit.current_active_user)) -> Any:
        return {"id": user.id}

    @app.get("/org-reports")
    async def org_reports(ctx: OrgContext = Depends(kit.require_org_permission("org:read"))) -> Any:
        return {"org": ctx.organization_id, "role": ctx.role, "key": ctx.api_key_id}

    kit.install(app)
    return app


def make(database_url: str, store: Store | None = None, **api_keys: Any) -> SaaSKit[Any]:
    return SaaSKit(
        make_settings(database_url),
        store=store or new_store(),
        email_sender=MemorySender(),
        features=[ApiKeysFeature(settings(**api_keys))],
    )


@pytest.fixture
async def kit(database_url: str) -> AsyncIterator[SaaSKit[Any]]:
    kit = make(database_url)
    yield kit
    await kit.aclose()


@pytest.fixture
async def client(kit: SaaSKit[Any]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=host_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c

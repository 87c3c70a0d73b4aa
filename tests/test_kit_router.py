"""The kit's routers are skipped for paths none of their routes can match, and routing
answers exactly as before: the host's routes after ``kit.install`` (under a kit prefix
too), 405 for a kit path with another method, the trailing-slash redirect, a kit router
included by the host under its own prefix."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from saaskit import SaaSKit
from saaskit.routing import SaaSKitRoute
from tests.helpers import client_for
from tests.orgs.helpers import new_org, verified


@pytest.fixture
def tried(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the kit routes FastAPI tries to match, in order."""
    paths: list[str] = []
    for name in ("matches", "matches_with_prefix"):
        original = getattr(SaaSKitRoute, name, None)
        if original is None:
            continue

        def counting(self: SaaSKitRoute, *args: Any, _original: Any = original) -> Any:
            paths.append(self.path)
            return _original(self, *args)

        monkeypatch.setattr(SaaSKitRoute, name, counting)
    return paths


def host_app(kit: SaaSKit[Any]) -> FastAPI:
    app = FastAPI()
    kit.install(app)

    @app.get("/api/v1/reports")
    async def reports(user: Any = Depends(kit.current_active_user)) -> dict[str, int]:
        return {"user": user.id}

    @app.get("/api/v1/orgs/{org_id}/projects")
    async def projects(ctx: Any = Depends(kit.require_org_permission("members:read"))) -> Any:
        return {"org": ctx.organization_id, "role": ctx.role}

    return app


async def test_host_routes_try_no_kit_route(kit: SaaSKit[Any], tried: list[str]) -> None:
    async with client_for(kit, host_app(kit)) as client:
        alice = await verified(kit, client, "alice@example.com")
        org = await new_org(client, alice)
        tried.clear()
        response = await client.get("/api/v1/reports", headers=alice)
        assert response.status_code == 200
        assert tried == []
        # Under the organizations router's prefix, but none of its routes' paths.
        response = await client.get(f"/api/v1/orgs/{org}/projects", headers=alice)
        assert response.json() == {"org": org, "role": "owner"}
        assert tried == []
        # A kit route is still found, by trying the routes of its own router only.
        assert (await client.get("/api/v1/users/me", headers=alice)).status_code == 200
        assert tried
        assert all(not path.startswith("/orgs") for path in tried)


async def test_routing_answers_as_before(kit: SaaSKit[Any]) -> None:
    async with client_for(kit, host_app(kit)) as client:
        alice = await verified(kit, client, "alice@example.com")
        assert (await client.delete("/api/v1/auth/login")).status_code == 405
        assert (await client.get("/api/v1/nowhere")).status_code == 404
        redirected = await client.get("/api/v1/users/me/", headers=alice)
        assert redirected.status_code == 307
        assert redirected.headers["location"].endswith("/api/v1/users/me")


async def test_a_router_the_host_includes_itself(kit: SaaSKit[Any]) -> None:
    app = FastAPI()
    app.include_router(kit.auth_router, prefix="/v2/auth")
    app.include_router(kit.users_router, prefix="/v2/users")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        body = {"email": "bob@example.com", "password": "correct horse battery 9"}
        assert (await client.post("/v2/auth/register", json=body)).status_code == 201
        assert (await client.post("/api/v1/auth/register", json=body)).status_code == 404
        assert (await client.get("/v2/users/me")).status_code == 401


def test_the_filter_is_a_superset_of_every_route(kit: SaaSKit[Any]) -> None:
    """Each kit route's own path passes its router's filter (else it could never match)."""
    app = FastAPI()
    kit.install(app)
    checked = 0
    for router in (kit.auth_router, kit.users_router):
        path_filter = router._path_filter("/api/v1/x")  # type: ignore[attr-defined]
        if path_filter is None:
            continue
        for route in router.routes:
            if not isinstance(route, SaaSKitRoute):
                continue  # a router included in this one
            concrete = "/api/v1/x" + route.path.replace("{", "").replace("}", "")
            assert path_filter.match(concrete) is not None, route.path
            checked += 1
    assert checked > 10
    assert path_filter is not None
    assert path_filter.match("/api/v1/y/login") is None

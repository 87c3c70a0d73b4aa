"""The kit's routers are skipped for paths none of their routes can match, and routing
answers exactly as before: the host's routes after ``kit.install`` (under a kit prefix
too), 405 for a kit path with another method, the trailing-slash redirect, a kit router
included by the host under its own prefix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.routing import Mount, Route

from saaskit import SaaSKit, routing
from saaskit.email.memory import MemorySender
from saaskit.features import Feature
from saaskit.oauth import OAuthFeature, OAuthSettings
from saaskit.passkeys import PasskeysFeature, PasskeysSettings
from saaskit.privacy import PrivacyFeature, PrivacySettings
from saaskit.routing import SaaSKitRoute
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from tests.billing.helpers import add_prices, billing_settings
from tests.helpers import build_app, client_for, make_settings, new_store
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


# -- conformance: the filter never changes what routing answers ------------------------

_PARAM = re.compile(r"{([^}:]+)(?::([^}]+))?}")
_UUID = "00000000-0000-4000-8000-000000000007"
_VALUES = {"int": "7", "float": "1.5", "path": "a/b", "uuid": _UUID}
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _every_feature_kit(database_url: str, stripe: FakeStripe, folder: Path) -> SaaSKit[Any]:
    """A kit with every feature of the kit on, so each of its routers is mounted."""
    github = {
        "kind": "github",
        "client_id": "client",
        "client_secret": "secret",
        "authorization_url": "http://127.0.0.1:9/authorize",
        "token_url": "http://127.0.0.1:9/token",
        "api_url": "http://127.0.0.1:9/api",
    }
    settings = make_settings(
        database_url,
        billing=billing_settings(stripe),
        ai={"api_key": "sk-x", "base_url": "http://127.0.0.1:9/v1"},
        metrics={"enabled": True, "token": "metrics-token-0123456789abcdef"},
    )
    features: list[Feature[Any]] = [
        PrivacyFeature(PrivacySettings(enabled=True, storage_dir=str(folder))),
        PasskeysFeature(PasskeysSettings(enabled=True, origins=["http://localhost:8000"])),
        OAuthFeature(OAuthSettings(providers={"gh": github}, callback_base_url="http://test")),
    ]
    return SaaSKit(settings, store=new_store(), email_sender=MemorySender(), features=features)


def _leaf_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, set[str]]]:
    """(full path template, methods) of every route, inside includes and mounts too."""
    found: list[tuple[str, set[str]]] = []
    for route in routes:
        nested = getattr(route, "original_router", None)
        context = getattr(route, "include_context", None)
        if nested is not None and context is not None:
            found += _leaf_routes(nested.routes, prefix + context.prefix)
        elif isinstance(route, Mount):
            found += _leaf_routes(list(route.routes), prefix + route.path)
            found.append((prefix + route.path + "/", {"GET"}))
        elif isinstance(route, Route):
            found.append((prefix + route.path, set(route.methods or {"GET"})))
    return found


def _concrete(template: str, text: str) -> str:
    """``template`` with each parameter filled with a value its convertor accepts."""
    return _PARAM.sub(lambda m: _VALUES.get(m.group(2) or "str", text), template)


def _requests(routes: list[tuple[str, set[str]]]) -> list[tuple[str, str]]:
    """Requests at and around every route: its methods and a wrong one, near-miss paths."""
    wanted: dict[tuple[str, str], None] = {}
    for template, methods in routes:
        wrong = next(method for method in _METHODS if method not in methods)
        for text in ("7", "x-y"):
            path = _concrete(template, text) or "/"
            near = [path.rstrip("/") or "/", path + "/", path + "/extra", path[:-1] or "/"]
            for method in sorted(methods):
                wanted[(method, path)] = None
            wanted[(wrong, path)] = None
            for other in near:
                wanted[("GET", other)] = None
                wanted[(sorted(methods)[0], other)] = None
    for path in ("/", "/nowhere", "/api", "/api/v1", "/api/v1/", "/api/v1/nowhere"):
        wanted[("GET", path)] = None
    return list(wanted)


async def _outcomes(app: FastAPI, requests: list[tuple[str, str]]) -> list[tuple[Any, ...]]:
    """Each request's status, redirect target and the endpoint that answered it."""
    endpoints: list[str | None] = []

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)
        endpoint = scope.get("endpoint")
        endpoints.append(None if endpoint is None else endpoint.__qualname__)

    transport = httpx.ASGITransport(app=recording, raise_app_exceptions=False)
    outcomes: list[tuple[Any, ...]] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for method, path in requests:
            endpoints.clear()
            response = await client.request(method, path)
            location = response.headers.get("location")
            outcomes.append((method, path, response.status_code, location, endpoints[-1]))
    return outcomes


async def test_every_feature_routes_the_same_with_and_without_the_filter(
    database_url: str,
    tmp_path: Path,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every route of a kit with every feature, and paths around each, answer the same
    (status, redirect, endpoint) with the filter as without it."""
    add_prices(fake_stripe)
    results = []
    for enabled in (True, False):
        monkeypatch.setattr(routing, "PATH_FILTER", enabled)
        kit = _every_feature_kit(database_url, fake_stripe, tmp_path / str(enabled))
        try:
            app = build_app(kit)
            routes = _leaf_routes(app.routes)
            requests = _requests(routes)
            results.append(await _outcomes(app, requests))
        finally:
            await kit.aclose()
    with_filter, without = results
    assert len(routes) > 100  # every feature's routes were found
    assert {path for path, _ in routes} >= {
        "/api/v1/billing/webhook",
        "/api/v1/passkeys",
        "/api/v1/privacy/exports",
        "/api/v1/oauth/providers",
        "/api/v1/ai/chat",
    }
    differing = [(a, b) for a, b in zip(with_filter, without, strict=True) if a != b]
    assert differing == []
    # The requests reached kit endpoints, and the near misses answered 404 / 405 / 307.
    statuses = {outcome[2] for outcome in with_filter}
    assert {401, 404, 405, 307} <= statuses
    assert sum(outcome[4] is not None for outcome in with_filter) > 100

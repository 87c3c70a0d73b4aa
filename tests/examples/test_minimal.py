"""Runs ``examples/minimal/app.py`` (also shown in the README) end to end.

The example reads its settings from the environment, so each test points
``SAASKIT_DATABASE_URL`` at a fresh SQLite file migrated with saaskit's packaged
migrations (the example's ``users`` table is the default one). It uses a temporary file
even when the suite runs on PostgreSQL, so it never touches the shared test database.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from saaskit.migrations import packaged_config, upgrade

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "minimal" / "app.py"
PASSWORD = "correct horse battery"


def load_module(path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import ``path`` under a fresh name, so no module state leaks between tests."""
    name = f"_saaskit_example_{path.parent.name}_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite database and the environment the example reads."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'example.db'}"
    upgrade(packaged_config(url))
    monkeypatch.chdir(tmp_path)  # no stray .env from the working directory
    for name in ("SAASKIT_REDIS_URL", "SAASKIT_ENVIRONMENT", "SAASKIT_API_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAASKIT_DATABASE_URL", url)
    monkeypatch.setenv("SAASKIT_SECRET_KEY", "example-test-secret-key-0123456789abcdef")
    monkeypatch.setenv("SAASKIT_AUTH__BCRYPT_ROUNDS", "4")
    return url


@pytest.fixture
async def example(example_env: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ModuleType]:
    module = load_module(EXAMPLE, monkeypatch)
    try:
        yield module
    finally:
        await module.kit.aclose()


@pytest.fixture
async def client(example: ModuleType) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=example.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def _register_and_login(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens: dict[str, Any] = login.json()
    return tokens


async def test_protected_host_route_greets_the_logged_in_user(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = await _register_and_login(client, "alice@example.com")
    response = await client.get(
        "/api/v1/hello", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 200
    assert response.json() == {"message": "Hello, alice@example.com!"}
    # Failures saaskit only logs (an audit row whose table is missing, say) count too.
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


async def test_protected_host_route_without_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/hello")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "not_authenticated"


async def test_swagger_form_login_works_on_the_example(client: httpx.AsyncClient) -> None:
    await _register_and_login(client, "bob@example.com")
    form = await client.post(
        "/api/v1/auth/login", data={"username": "bob@example.com", "password": PASSWORD}
    )
    assert form.status_code == 200
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {form.json()['access_token']}"}
    )
    assert me.json()["email"] == "bob@example.com"


def test_each_import_builds_a_fresh_app(example_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = load_module(EXAMPLE, monkeypatch), load_module(EXAMPLE, monkeypatch)
    assert first.app is not second.app
    assert first.User is not second.User


async def test_organization_routes_answer_members_and_404_to_others(
    client: httpx.AsyncClient,
) -> None:
    owner = bearer((await _register_and_login(client, "owner@example.com"))["access_token"])
    other = bearer((await _register_and_login(client, "other@example.com"))["access_token"])
    created = await client.post("/api/v1/orgs", json={"name": "Acme"}, headers=owner)
    assert created.status_code == 201, created.text
    org = created.json()["id"]
    hello = await client.get(f"/api/v1/orgs/{org}/hello", headers=owner)
    assert hello.json() == {"message": "Hello, owner of Acme!"}
    report = await client.get(f"/api/v1/orgs/{org}/billing-report", headers=owner)
    assert report.json() == {"organization": created.json()["slug"], "seen_by": "owner"}
    for path in ("hello", "billing-report"):
        theirs = await client.get(f"/api/v1/orgs/{org}/{path}", headers=other)
        missing = await client.get(f"/api/v1/orgs/999999/{path}", headers=other)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["error"]["code"] == "organization_not_found"
        assert (await client.get(f"/api/v1/orgs/{org}/{path}")).status_code == 401


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

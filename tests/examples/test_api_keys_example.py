"""Runs ``examples/api_keys``: a key made through the API calls the host route from the
example's script (``call_with_key.fetch_reports``), and OpenAPI shows both schemes."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from tests.examples.test_minimal import PASSWORD, example_env, load_module
from tests.secret_scan import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "examples" / "api_keys"

__all__ = ["example_env"]  # the fixture, used by name


@pytest.fixture
def example(example_env: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_module(FOLDER / "app.py", monkeypatch)


def test_the_script_calls_the_host_route_with_a_key(
    example: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = load_module(FOLDER / "call_with_key.py", monkeypatch)
    with TestClient(example.app) as client:
        email = "alice@example.com"
        registered = client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201
        tokens = client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        ).json()
        session = {"Authorization": f"Bearer {tokens['access_token']}"}
        created = client.post(
            "/api/v1/api-keys", json={"name": "script", "scopes": ["reports:read"]}, headers=session
        )
        assert created.status_code == 201, created.text
        key = created.json()["key"]
        REGISTRY.add("API key", key)
        answer = script.fetch_reports(client, key)
        assert answer["via"] == "api_key"
        assert answer["reports"] == ["2026-11", "2026-12"]
        schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
        assert schemes["OAuth2PasswordBearer"]["type"] == "oauth2"
        assert schemes["APIKey"] == {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": schemes["APIKey"]["description"],
        }
        # A key without the scope: 403 from the script's call.
        narrow = client.post("/api/v1/api-keys", json={"name": "none"}, headers=session).json()
        REGISTRY.add("API key", narrow["key"])
        with pytest.raises(Exception, match="403"):
            script.fetch_reports(client, narrow["key"])

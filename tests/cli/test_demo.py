"""``saaskit demo``: a real server on a fresh SQLite file, used over real HTTP."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.cli.helpers import backend_env, invoke, serving, stopped_gracefully
from tests.helpers import PASSWORD


def links_on_their_own_line(output: str, path: str) -> list[str]:
    """The console lines that are exactly one URL to ``path`` (leading spaces aside)."""
    return [
        line.strip()
        for line in output.splitlines()
        if line.strip().startswith("http") and path in line and " " not in line.strip()
    ]


@pytest.mark.slow
def test_demo_serves_register_login_me_refresh(clean_environment: Path) -> None:
    with (
        serving("demo", cwd=clean_environment, ready_path="/health") as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        index = http.get("/")
        assert index.json()["docs"] == "/docs"
        assert http.get("/docs").status_code == 200
        assert "/api/v1/auth/register" in http.get("/openapi.json").json()["paths"]

        registered = http.post(
            "/api/v1/auth/register", json={"email": "demo@example.com", "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        login = http.post(  # the OAuth2 form, as Swagger's Authorize button sends it
            "/api/v1/auth/login", data={"username": "demo@example.com", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        tokens = login.json()
        me = http.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert me.status_code == 200
        assert me.json()["email"] == "demo@example.com"
        refreshed = http.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 200
        assert refreshed.json()["refresh_token"] != tokens["refresh_token"]
    assert stopped_gracefully(server), server.output()
    output = server.output()
    assert f"saaskit demo running at {server.base_url}" in output
    assert f"{server.base_url}/docs" in output
    assert (clean_environment / "saaskit.db").exists()  # the default database, migrated


@pytest.mark.slow
def test_demo_prints_each_email_with_a_link_that_works(
    clean_environment: Path, scratch_database_url: str
) -> None:
    settings = {
        **backend_env(scratch_database_url),
        "SAASKIT_STORE__PREFIX": f"demo-test:{uuid.uuid4().hex}:",
    }
    with (
        serving("demo", cwd=clean_environment, ready_path="/health", **settings) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        registered = http.post(
            "/api/v1/auth/register", json={"email": "demo@example.com", "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
    # Stopping waits for the queued emails, so the output is complete here.
    assert stopped_gracefully(server), server.output()
    output = server.output()
    assert "NOT delivered" in output
    assert "To: demo@example.com" in output
    assert "Subject: Confirm your email address for saaskit" in output
    [link] = links_on_their_own_line(output, "/verify-email?token=")
    assert "INFO:" in output  # the default level, info, shows uvicorn's lines too

    # Followed by hand: the demo again on the same database, quieter this time.
    with (
        serving(
            "demo",
            "--log-level",
            "warning",
            cwd=clean_environment,
            ready_path="/health",
            **settings,
        ) as quiet,
        httpx.Client(base_url=quiet.base_url, timeout=10) as http,
    ):
        [token] = parse_qs(urlsplit(link).query)["token"]
        verified = http.post("/api/v1/auth/verify-email", json={"token": token})
        assert verified.status_code == 200, verified.text
        assert verified.json()["is_verified"] is True
        forgot = http.post("/api/v1/auth/forgot-password", json={"email": "demo@example.com"})
        assert forgot.status_code == 202, forgot.text
    assert quiet.process.returncode in (0, -signal.SIGTERM), quiet.output()
    output = quiet.output()
    # At warning level the requests and uvicorn's startup lines are gone, but an email
    # that was not delivered is still shown: its link exists nowhere else.
    assert "INFO:" not in output
    assert "/api/v1/auth/verify-email" not in output
    assert "To: demo@example.com" in output
    assert len(links_on_their_own_line(output, "/reset-password?token=")) == 1
    assert f"saaskit demo running at {quiet.base_url}" in output


def test_demo_fails_cleanly_on_invalid_settings() -> None:
    result = invoke("demo", env={"SAASKIT_ENVIRONMENT": "production"})
    assert result.exit_code == 1
    assert "SAASKIT_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.output


def test_demo_app_reads_database_and_redis_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    from saaskit.demo.app import create_app  # importing builds the module-level app

    url = f"sqlite+aiosqlite:///{clean_environment / 'other.db'}"
    monkeypatch.setenv("SAASKIT_DATABASE_URL", url)
    monkeypatch.setenv("SAASKIT_REDIS_URL", "redis://127.0.0.1:6379/0")
    app = create_app()
    kit = app.state.kit
    try:
        assert kit.settings.database_url == url
        assert kit.store.shared  # Redis, not the in-process store
        assert app.title == "saaskit demo"
        assert app.url_path_for("demo:index") == "/"
        assert app.url_path_for("health:live") == "/health"
        assert app.url_path_for("auth:login") == "/api/v1/auth/login"
    finally:
        asyncio.run(kit.aclose())

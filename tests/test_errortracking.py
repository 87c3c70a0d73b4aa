"""Error tracking: a real app process with ``SAASKIT_SENTRY__DSN`` pointed at a local
fake ingestion endpoint. A failing route and a failing background task are reported
with the request id, the user id and the release; nothing that left the process holds
the email, the password, a token, the request body or a configured secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from saaskit import SaaSKitSettings
from saaskit.__about__ import __version__
from saaskit.errortracking import build_scrubber
from saaskit.exceptions import MissingExtra
from tests.e2e.processes import App, app_environment, start_app, wait_until
from tests.fake_sentry import FakeSentry, fake_sentry

pytestmark = pytest.mark.slow

SECRET_KEY = "sentry-test-secret-key-0123456789abcdefghij"
PASSWORD = "correct horse battery staple"
BODY_TOKEN = "sk_live_body_value_never_sent_0123"
APP = """
from typing import Any

from fastapi import Body, Depends, FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.models import User

kit = SaaSKit(SaaSKitSettings())
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)


async def explode(payload: dict[str, Any]) -> None:
    raise ValueError(f"could not build the report of {payload['email']}")


kit.tasks["explode"] = explode


@app.post("/boom")
async def boom(
    body: dict[str, str] = Body(), user: User = Depends(kit.current_active_user)
) -> None:
    raise RuntimeError(f"report of {user.email} failed")


@app.post("/boom-later", status_code=202)
async def boom_later(user: User = Depends(kit.current_active_user)) -> None:
    await kit.runner.enqueue("explode", {"email": user.email})
"""


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    with fake_sentry() as server:
        yield server


@pytest.fixture
def app(tmp_path: Path, database_url: str, sentry: FakeSentry) -> Iterator[App]:
    (tmp_path / "e2e_app.py").write_text(APP)
    env = app_environment(
        SAASKIT_DATABASE_URL=database_url,
        SAASKIT_SECRET_KEY=SECRET_KEY,
        SAASKIT_AUTH__BCRYPT_ROUNDS="4",
        SAASKIT_SENTRY__DSN=sentry.dsn,
        SAASKIT_SENTRY__RELEASE="myapp@1.4.2",
    )
    with ExitStack() as stack:
        yield start_app(tmp_path, env, "app", stack)


def error_events(sentry: FakeSentry, count: int) -> list[dict[str, Any]]:
    wait_until(lambda: len(sentry.events()) >= count, 30, f"{count} Sentry events")
    return sentry.events()


def exception_of(event: dict[str, Any]) -> dict[str, Any]:
    values: list[dict[str, Any]] = event["exception"]["values"]
    return values[-1]


def test_a_failing_route_and_task_reach_sentry_with_ids_but_no_personal_data(
    app: App, sentry: FakeSentry
) -> None:
    with httpx.Client(base_url=app.url, timeout=30) as client:
        email = "alice@example.com"
        registered = client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        user_id = str(registered.json()["id"])
        tokens = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        access, refresh = tokens.json()["access_token"], tokens.json()["refresh_token"]
        headers = {"Authorization": f"Bearer {access}", "X-Request-ID": "req-boom-1"}

        response = client.post(
            "/boom?email=alice@example.com",
            json={"token": BODY_TOKEN},
            headers={**headers, "Connection": "close"},  # uvicorn drops it after a 500
        )
        assert response.status_code == 500
        later = client.post("/boom-later", headers={**headers, "X-Request-ID": "req-later-2"})
        assert later.status_code == 202

    events = error_events(sentry, 2)
    route = next(e for e in events if exception_of(e)["type"] == "RuntimeError")
    assert route["tags"]["request_id"] == "req-boom-1"
    assert route["user"] == {"id": user_id}
    assert route["release"] == "myapp@1.4.2"
    assert route["tags"]["saaskit.version"] == __version__
    assert exception_of(route)["value"] == "report of [email] failed"  # the email scrubbed
    task = next(e for e in events if exception_of(e)["type"] == "ValueError")
    assert exception_of(task)["value"] == "could not build the report of [email]"

    raw = sentry.raw()
    secrets = (email, PASSWORD, access, refresh, SECRET_KEY, BODY_TOKEN, "alice%40example.com")
    for secret in secrets:
        assert secret.encode() not in raw, f"{secret[:12]}... reached Sentry"
    for event in events:  # no request body, cookie, query string or credential header
        assert set(event["request"]) <= {"method", "url", "headers"}
        assert "authorization" not in {name.lower() for name in event["request"]["headers"]}


def test_the_scrubber_removes_personal_data_and_secrets_from_every_string() -> None:
    scrub = build_scrubber(["the-configured-secret"])
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    event = {
        "message": f"login of bob@example.org with {token}",
        "request": {
            "url": "https://api.example.com/verify?token=abc",
            "query_string": "token=abc",
            "data": {"password": "hunter2hunter2"},
            "cookies": {"session": "x"},
            "headers": {"Authorization": f"Bearer {token}", "User-Agent": "curl/8"},
        },
        "user": {"id": "7", "email": "bob@example.org", "ip_address": "203.0.113.9"},
        "breadcrumbs": {"values": [{"message": "Bearer abc.def sent the-configured-secret"}]},
    }
    cleaned = scrub(event)
    assert cleaned["message"] == "login of [email] with [token]"
    assert cleaned["request"] == {
        "url": "https://api.example.com/verify",
        "headers": {"User-Agent": "curl/8"},
    }
    assert cleaned["user"] == {"id": "7"}
    assert cleaned["breadcrumbs"]["values"][0]["message"] == "Bearer [token] sent [secret]"


def test_without_the_extra_a_dsn_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    from saaskit.errortracking import init_sentry

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "sentry_sdk" else real_find_spec(name, *a),
    )
    settings = SaaSKitSettings(sentry={"dsn": "http://k@127.0.0.1:1/1"})
    with pytest.raises(MissingExtra, match=r"saaskit\[sentry\]"):
        init_sentry(settings)


def test_sentry_is_off_without_a_dsn() -> None:
    from saaskit.errortracking import init_sentry

    assert init_sentry(SaaSKitSettings()) is False
    assert json.dumps(SaaSKitSettings().sentry.model_dump(mode="json"))  # serialisable

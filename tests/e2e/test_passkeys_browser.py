"""Passkeys in a real browser: headless Chromium with a CDP virtual authenticator.

The kit (passkeys on) and a small page (``tests/e2e/passkeys_page``) are served together
on ``http://localhost:PORT``: one origin, and a host name (WebAuthn refuses a bare IP as
its relying-party id). A CTAP2 authenticator (internal, resident keys, user verified) is
added through the DevTools protocol; the page calls ``navigator.credentials.create`` and
``.get`` and posts their answers to the passkey routes.

Under ``CI=true`` a missing Chromium or Playwright fails the test instead of skipping it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import FileResponse

from saaskit import SaaSKit
from saaskit.email.memory import MemorySender
from saaskit.passkeys import PasskeysFeature, PasskeysSettings
from tests.helpers import GUARD_SECONDS, PASSWORD, make_settings
from tests.ports import free_port

pytestmark = pytest.mark.slow

PAGE = Path(__file__).parent / "passkeys_page"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}
TIMEOUT_MS = 15_000


def _missing(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"under CI=true the browser test must run: {reason}")
    pytest.skip(reason)


def _app(database_url: str, origin: str) -> FastAPI:
    kit = SaaSKit(
        make_settings(database_url),
        email_sender=MemorySender(),
        features=[
            PasskeysFeature(PasskeysSettings(enabled=True, rp_id="localhost", origins=[origin]))
        ],
    )
    app = FastAPI(lifespan=kit.lifespan)
    kit.install(app)

    @app.get("/")
    async def index() -> FileResponse:
        return FileResponse(PAGE / "index.html")

    @app.get("/passkeys.js")
    async def script() -> FileResponse:
        return FileResponse(PAGE / "passkeys.js", media_type="text/javascript")

    return app


@pytest.fixture
def origin(database_url: str) -> Iterator[str]:
    """The kit and the page on ``http://localhost:PORT`` (uvicorn in a thread)."""
    port = free_port()
    origin = f"http://localhost:{port}"
    started = threading.Event()
    servers: list[uvicorn.Server] = []

    def serve() -> None:
        app = _app(database_url, origin)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        servers.append(server)
        started.set()
        asyncio.run(server.serve())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(GUARD_SECONDS)
    server = servers[0]
    for _ in range(int(GUARD_SECONDS * 20)):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started, "the server did not start"
    yield origin
    server.should_exit = True
    thread.join(GUARD_SECONDS)


def test_register_then_log_in_with_a_passkey_in_chromium(origin: str) -> None:
    if not Path(CHROMIUM).exists():
        _missing("needs Chromium: apt-get install chromium (Debian's package)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("needs Playwright for Python: pip install 'saaskit[browser]'")
    api = httpx.Client(base_url=f"{origin}/api/v1", timeout=GUARD_SECONDS)
    body = {"email": "alice@example.com", "password": PASSWORD, "full_name": "Alice"}
    assert api.post("/auth/register", json=body).status_code == 201
    login = api.post("/auth/login", json={"email": body["email"], "password": PASSWORD})
    session = login.json()["access_token"]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=30_000
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            cdp = page.context.new_cdp_session(page)
            cdp.send("WebAuthn.enable", {"enableUI": False})
            added: dict[str, Any] = cdp.send(
                "WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR}
            )
            authenticator = added["authenticatorId"]
            page.goto(origin + "/")

            record = page.evaluate(
                "([token, name]) => registerPasskey(token, name)", [session, "Chromium"]
            )
            assert record["name"] == "Chromium"
            assert record["transports"] == ["internal"]
            stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
            assert len(stored["credentials"]) == 1
            assert stored["credentials"][0]["isResidentCredential"] is True

            tokens = page.evaluate("() => loginWithPasskey()")
            me = api.get("/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
            assert me.json()["email"] == "alice@example.com"
            listed = api.get("/passkeys", headers={"Authorization": f"Bearer {session}"}).json()
            assert listed[0]["last_used_at"] is not None

            # A second login moves the counter on; then the passkey is removed on the
            # server, and the authenticator's copy no longer logs in.
            page.evaluate("() => loginWithPasskey()")
            removed = api.delete(
                f"/passkeys/{record['id']}", headers={"Authorization": f"Bearer {session}"}
            )
            assert removed.status_code == 204
            refused = page.evaluate(
                "() => loginWithPasskey().then(() => 'accepted', (e) => e.message)"
            )
            assert refused == "401 passkey_login_failed"
            assert errors == []
            cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})
        finally:
            browser.close()
    api.close()

"""Passkeys in a real browser: headless Chromium with a CDP virtual authenticator.

The kit (passkeys on) and a small page (``tests/e2e/passkeys_page``) are served together
on ``http://localhost:PORT``: one origin, and a host name (WebAuthn refuses a bare IP as
its relying-party id). A CTAP2 authenticator (internal, resident keys, user verified) is
added through the DevTools protocol; the page calls ``navigator.credentials.create`` and
``.get`` and posts their answers to the passkey routes.

Under ``CI=true`` a missing Chromium or Playwright fails the test instead of skipping it
(``tests/e2e/conftest.py``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import FileResponse

from saaskit import SaaSKit
from saaskit.email.memory import MemorySender
from saaskit.migrations import packaged_config, upgrade
from saaskit.passkeys import PasskeysFeature, PasskeysSettings
from tests.e2e.verification import confirm, token_in, verify_from_log
from tests.helpers import GUARD_SECONDS, PASSWORD, make_settings
from tests.ports import free_port

pytestmark = pytest.mark.slow

PAGE = Path(__file__).parent / "passkeys_page"
SERVER = Path(__file__).resolve().parents[2] / "examples" / "frontend" / "server.py"
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


_KITS: list[SaaSKit[Any]] = []


def _app(database_url: str, origin: str) -> FastAPI:
    kit = SaaSKit(
        make_settings(database_url),
        email_sender=MemorySender(),
        features=[
            PasskeysFeature(PasskeysSettings(enabled=True, rp_id="localhost", origins=[origin]))
        ],
    )
    _KITS.append(kit)
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
        pytest.skip("needs Chromium: apt-get install chromium (Debian's package)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("needs Playwright for Python: pip install 'saaskit[browser]'")
    api = httpx.Client(base_url=f"{origin}/api/v1", timeout=GUARD_SECONDS)
    body = {"email": "alice@example.com", "password": PASSWORD, "full_name": "Alice"}
    assert api.post("/auth/register", json=body).status_code == 201
    sender = _KITS[-1].email_sender
    assert isinstance(sender, MemorySender)
    for _ in range(100):  # the email goes out through the task runner, after the answer
        if sender.messages_to(body["email"]):
            break
        threading.Event().wait(0.05)
    token = token_in(f"To: {body['email']}\n{sender.last_to(body['email']).text}", body["email"])
    assert token
    confirm(origin, token)  # adding a passkey needs a verified email
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


@pytest.fixture
def example(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``examples/frontend/server.py`` with passkeys on; the page opened on ``localhost``.

    The page server listens on 127.0.0.1; the browser opens it as ``localhost`` (the RP id),
    and the API stays on 127.0.0.1 (another origin, allowed by CORS).
    """
    database = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    upgrade(packaged_config(database))
    api_port, page_port = free_port(), free_port()
    api, page = f"http://127.0.0.1:{api_port}", f"http://localhost:{page_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAASKIT_")}
    env.update(
        {
            "SAASKIT_DATABASE_URL": database,
            "SAASKIT_SECRET_KEY": "browser-test-secret-key-0123456789abcdef",
            "SAASKIT_AUTH__BCRYPT_ROUNDS": "4",
            "SAASKIT_CORS__ORIGINS": json.dumps([page]),
            "SAASKIT_PASSKEYS__ENABLED": "true",
            "SAASKIT_PASSKEYS__RP_ID": "localhost",
            "SAASKIT_PASSKEYS__ORIGINS": json.dumps([page]),
        }
    )
    command = [sys.executable, str(SERVER), "--api-port", str(api_port)]
    command += ["--page-port", str(page_port), "--log-level", "warning"]
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        for url in (f"{api}/health", f"http://127.0.0.1:{page_port}/"):
            for _ in range(int(GUARD_SECONDS * 20)):
                assert process.poll() is None, f"server.py exited:\n{log.read_text()}"
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                threading.Event().wait(0.05)
            else:
                pytest.fail(f"{url} did not answer:\n{log.read_text()}")
        yield api, page
    finally:
        process.terminate()
        process.wait(timeout=GUARD_SECONDS)


def test_the_browser_example_adds_a_passkey_and_signs_in_with_it(
    example: tuple[str, str], tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Chromium: apt-get install chromium (Debian's package)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.skip("needs Playwright for Python: pip install 'saaskit[browser]'")
    api, page_origin = example
    expect.set_options(timeout=TIMEOUT_MS)
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
            added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
            page.goto(f"{page_origin}/?api={api}/api/v1&passkeys=1")
            expect(page.locator("html")).to_have_attribute("data-ready", "true")
            expect(page.locator("#passkey-login")).to_be_visible()

            page.fill("#email", "alice@example.com")
            page.fill("#password", PASSWORD)
            page.click("#register")
            expect(page.locator("#status")).to_contain_text("Registered")
            verify_from_log(api, tmp_path / "server.log", "alice@example.com")  # the link
            page.fill("#password", PASSWORD)
            page.click("#login")
            expect(page.locator("#me-email")).to_have_text("alice@example.com")
            expect(page.locator("#passkeys")).to_be_visible()
            page.click("#passkey-add")
            expect(page.locator("#status")).to_have_text("Passkey added.")
            expect(page.locator("#passkey-list li")).to_have_count(1)
            stored = cdp.send(
                "WebAuthn.getCredentials", {"authenticatorId": added["authenticatorId"]}
            )
            assert len(stored["credentials"]) == 1

            page.click("#logout")
            expect(page.locator("#signed-in")).to_be_hidden()
            page.click("#passkey-login")  # no email, no password
            expect(page.locator("#me-email")).to_have_text("alice@example.com")
            expect(page.locator("#passkey-list li")).to_contain_text("last used")

            page.click("#passkey-list li button")
            expect(page.locator("#status")).to_have_text("Passkey removed.")
            page.click("#logout")
            page.click("#passkey-login")
            expect(page.locator("#status")).to_have_text("The passkey was not accepted.")
            assert errors == []
        finally:
            browser.close()

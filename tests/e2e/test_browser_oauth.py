"""A real browser signs in with a provider through the example page in ``examples/frontend``.

Headless Chromium clicks "Sign in with Fake" on the page, consents on the fake provider's
page (``saaskit.testing.FakeOAuthProvider``, real HTTP), comes back through the API's
callback to the page with a handoff code, which the page exchanges for tokens; the code
is gone from the address bar and the page shows the user. A second run of the flow with
the email of a password account shows the "log in and link" message instead; that user
logs in with the password, links the provider (the page's fetch keeps the binding
cookie), and then signs in with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from saaskit.migrations import packaged_config, upgrade
from saaskit.testing.fake_oauth import FakeOAuthProvider
from tests.e2e.verification import verify_from_log
from tests.ports import free_port

pytest.importorskip(
    "playwright.sync_api",
    reason="needs Playwright for Python: pip install 'saaskit[browser]' (no browser download)",
)
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, SERVER, TIMEOUT_MS, _answers

pytestmark = pytest.mark.slow


@dataclass
class Servers:
    api: str
    page: str
    fake: FakeOAuthProvider


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Chromium: apt-get install chromium (Debian's package)")
    database = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    upgrade(packaged_config(database))
    api_port, page_port = free_port(), free_port()
    api, page = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{page_port}"
    with FakeOAuthProvider(redirect_uris=(f"{api}/api/v1/oauth/fake/callback",)) as fake:
        fake.add_user("alice", "alice@example.com", email_verified=True, name="Alice")
        fake.add_user("bob", "bob@example.com", email_verified=True, name="Bob")
        fake.approve_as = None  # the consent page: the browser clicks
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAASKIT_")}
        env.update(
            {
                "SAASKIT_DATABASE_URL": database,
                "SAASKIT_SECRET_KEY": "browser-test-secret-key-0123456789abcdef",
                "SAASKIT_AUTH__BCRYPT_ROUNDS": "4",
                "SAASKIT_CORS__ORIGINS": json.dumps([page]),
                "SAASKIT_EMAIL__FRONTEND_URL": page,
                "SAASKIT_OAUTH__PROVIDERS": json.dumps({"fake": fake.oidc_provider()}),
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
            deadline = time.monotonic() + 30
            for url in (f"{api}/health", f"{page}/"):
                while not _answers(url, process, log):
                    assert time.monotonic() < deadline, f"{url} did not answer:\n{log.read_text()}"
                    time.sleep(0.05)
            yield Servers(api, page, fake)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def sign_in_with_fake(page: Page, servers: Servers, who: str) -> None:
    page.click("button[data-provider=fake]")
    page.wait_for_url(f"{servers.fake.url}/authorize?**")
    page.click(f"text=Continue as {who}")
    page.wait_for_url(f"{servers.page}/**")


def test_sign_in_with_a_provider_in_the_browser(servers: Servers, tmp_path: Path) -> None:
    api = servers.api
    start = f"{servers.page}/?api={api}/api/v1&oauth=1"
    # Bob has a password account: his provider sign-in must not log into it.
    registered = httpx.post(
        f"{api}/api/v1/auth/register",
        json={"email": "bob@example.com", "password": "correct horse battery"},
    )
    assert registered.status_code == 201
    verify_from_log(api, tmp_path / "server.log", "bob@example.com")  # linking needs it
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

            def console(message: ConsoleMessage) -> None:
                if message.type == "error" and page.url.startswith(servers.page):
                    errors.append(message.text)

            page.on("console", console)
            exchanged: list[int] = []
            missing: list[str] = []
            page.on(
                "response",
                lambda r: (
                    missing.append(r.url.split("/api/v1", 1)[-1]) if r.status == 404 else None
                ),
            )
            page.on(
                "response",
                lambda r: (
                    exchanged.append(r.status)
                    if r.url.endswith("/oauth/token") and r.request.method == "POST"
                    else None
                ),
            )

            page.goto(start)
            expect(page.locator("html")).to_have_attribute("data-ready", "true")
            expect(page.locator("button[data-provider=fake]")).to_have_text("Sign in with Fake")
            sign_in_with_fake(page, servers, "alice@example.com")
            expect(page.locator("#me-email")).to_have_text("alice@example.com")
            expect(page.locator("#me-verified")).to_have_text("yes")
            assert exchanged == [200]
            assert "code=" not in page.url  # the handoff code left the address bar
            assert unquote(page.url) == start
            page.screenshot(path=str(tmp_path / "signed-in-with-provider.png"), full_page=True)

            page.click("#logout")
            expect(page.locator("#signed-out")).to_be_visible()
            sign_in_with_fake(page, servers, "bob@example.com")
            expect(page.locator("#status")).to_contain_text("log in with its password")
            expect(page.locator("#signed-in")).to_be_hidden()
            assert "error=" not in page.url
            assert exchanged == [200]  # no code came back for Bob

            # Bob logs in with his password and links the provider from his account ...
            page.fill("#email", "bob@example.com")
            page.fill("#password", "correct horse battery")
            page.click("#login")
            expect(page.locator("#me-email")).to_have_text("bob@example.com")
            page.click("button[data-link=fake]")
            page.wait_for_url(f"{servers.fake.url}/authorize?**")
            page.click("text=Continue as bob@example.com")
            page.wait_for_url(f"{servers.page}/**")
            expect(page.locator("#status")).to_have_text("Linked fake.")
            expect(page.locator("#me-email")).to_have_text("bob@example.com")
            assert "linked=" not in page.url
            # ... and from then on signs in with it.
            page.click("#logout")
            expect(page.locator("#signed-out")).to_be_visible()
            sign_in_with_fake(page, servers, "bob@example.com")
            expect(page.locator("#me-email")).to_have_text("bob@example.com")
            assert exchanged == [200, 200]
            # The only errors: the page asks for the plans, and billing is off on this API.
            assert set(missing) == {"/billing/plans"}
            assert errors == [
                "Failed to load resource: the server responded with a status of 404 (Not Found)"
            ] * len(missing)
        finally:
            browser.close()

"""A real browser drives the example page in ``examples/frontend``.

Headless Chromium (Debian's ``chromium``, driven by Playwright for Python; no browser
download) opens the page, served by ``examples/frontend/server.py`` on another port than
the API, so every API call is cross-origin and needs the CORS settings. The API runs on
a scratch SQLite database migrated with saaskit's packaged migrations, with billing on a
fake Stripe started here. The page registers, logs in, shows ``/me``, refreshes its
access token silently, goes through Checkout and the portal, and logs out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from saaskit.migrations import packaged_config, upgrade
from saaskit.testing.fake_stripe import FakeStripe
from tests.ports import free_port

pytest.importorskip(
    "playwright.sync_api",
    reason="needs Playwright for Python: pip install 'saaskit[browser]' (no browser download)",
)
from playwright.sync_api import (
    ConsoleMessage,
    Page,
    Request,
    Response,
    Route,
    expect,
    sync_playwright,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "examples" / "frontend" / "server.py"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EMAIL = "alice@example.com"
PASSWORD = "correct horse battery"
PLANS = {"free": {"name": "Free"}, "pro": {"name": "Pro", "price": "pro_monthly"}}
# Access tokens live 60 s; the page refreshes 57 s early, so about 3 s after login.
REFRESH_MARGIN = 57
TIMEOUT_MS = 15_000


@dataclass
class Servers:
    api: str  # origin of the API
    page: str  # origin of the page (another port: another origin)
    fake: FakeStripe


def _answers(url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    assert process.poll() is None, f"server.py exited:\n{log.read_text()}"
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Chromium: apt-get install chromium (Debian's package)")
    database = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    upgrade(packaged_config(database))
    api_port, page_port = free_port(), free_port()
    api, page = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{page_port}"
    with FakeStripe() as fake:
        fake.add_price("pro_monthly", unit_amount=2000, product="Pro")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAASKIT_")}
        env.update(
            {
                "SAASKIT_DATABASE_URL": database,
                "SAASKIT_SECRET_KEY": "browser-test-secret-key-0123456789abcdef",
                "SAASKIT_AUTH__BCRYPT_ROUNDS": "4",
                "SAASKIT_AUTH__ACCESS_TOKEN_MINUTES": "1",
                # The page's origin, allowed through settings (server.py adds nothing).
                "SAASKIT_CORS__ORIGINS": json.dumps([page]),
                "SAASKIT_EMAIL__FRONTEND_URL": page,
                "SAASKIT_BILLING__ENABLED": "true",
                "SAASKIT_BILLING__SECRET_KEY": fake.api_key,
                "SAASKIT_BILLING__WEBHOOK_SECRET": fake.webhook_secret,
                "SAASKIT_BILLING__API_BASE": fake.url,
                "SAASKIT_BILLING__MAX_NETWORK_RETRIES": "0",
                "SAASKIT_BILLING__PLANS": json.dumps(PLANS),
                "SAASKIT_BILLING__DEFAULT_PLAN": "free",
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


def test_cors_allows_only_the_configured_page_origin(servers: Servers) -> None:
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    url = f"{servers.api}/api/v1/users/me"
    allowed = httpx.options(url, headers={"Origin": servers.page, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == servers.page
    other = httpx.options(url, headers={"Origin": "http://127.0.0.1:9", **preflight})
    assert "access-control-allow-origin" not in other.headers


def wait_for(page: Page, condition: Callable[[], Any], what: str) -> None:
    """Let the page run until ``condition()`` is true (at most TIMEOUT_MS)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(100)


def api_path(response: Response) -> str:
    return response.url.split("/api/v1", 1)[-1]


def bearer_of(page: Page) -> str:
    """The access token the page uses now (read from its next /users/me request)."""
    with page.expect_request(lambda r: r.url.endswith("/users/me")) as request:
        page.click("#reload-me")
    header = request.value.headers["authorization"]
    assert header.startswith("Bearer ")
    return header.removeprefix("Bearer ")


def deliver_webhooks(servers: Servers) -> None:
    """What Stripe does after the payment: POST the signed events to the webhook."""
    events = servers.fake.take_events()
    assert events
    for event in events:
        body = json.dumps(event).encode()
        headers = {"Content-Type": "application/json", "Stripe-Signature": servers.fake.sign(body)}
        response = httpx.post(
            f"{servers.api}/api/v1/billing/webhook", content=body, headers=headers
        )
        assert response.status_code == 200, response.text


def test_browser_client(servers: Servers, tmp_path: Path) -> None:
    api, fake = servers.api, servers.fake
    start = f"{servers.page}/?api={api}/api/v1&refresh_margin={REFRESH_MARGIN}"
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
                # Errors of our page (CSP, CORS, script errors), not of the fake's pages.
                if message.type == "error" and page.url.startswith(servers.page):
                    errors.append(message.text)

            page.on("console", console)
            responses: list[Response] = []
            page.on("response", lambda response: responses.append(response))

            def answered(path: str) -> list[Response]:
                return [
                    r for r in responses if api_path(r) == path and r.request.method != "OPTIONS"
                ]

            # Register, then log in: /me shows the email.
            page.goto(start)
            expect(page.locator("html")).to_have_attribute("data-ready", "true")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("#register")
            expect(page.locator("#status")).to_contain_text(f"Registered {EMAIL}")
            assert answered("/auth/register")[0].status == 201
            page.click("#login")
            expect(page.locator("#me-email")).to_have_text(EMAIL)
            login = answered("/auth/login")[0]
            assert login.status == 200
            first_token = login.json()["access_token"]
            assert bearer_of(page) == first_token

            # The silent refresh: scheduled REFRESH_MARGIN s before expiry, no user action.
            wait_for(page, lambda: answered("/auth/refresh"), "the silent refresh")
            refresh = answered("/auth/refresh")[0]
            assert refresh.status == 200
            assert refresh.json()["access_token"] != first_token
            expect(page.locator("#refresh-count")).not_to_have_text("0")
            issued = {r.json()["access_token"] for r in answered("/auth/refresh")}
            assert bearer_of(page) in issued  # requests now carry a refreshed token
            expect(page.locator("#plan")).to_have_text("Free")

            # A 401 (the token expired while the tab slept): one refresh, one retry.
            seen: list[Request] = []

            def reject_once(route: Route) -> None:
                seen.append(route.request)
                if len(seen) > 1:
                    route.continue_()
                    return
                body = {"error": {"code": "invalid_token", "message": "Token expired."}}
                cors = {"Access-Control-Allow-Origin": servers.page}
                route.fulfill(status=401, json=body, headers=cors)

            page.route(f"{api}/api/v1/users/me", reject_once)
            refreshed = len(answered("/auth/refresh"))
            page.click("#reload-me")
            wait_for(page, lambda: len(seen) >= 2, "the retry after a 401")
            first, retry = (r.headers["authorization"] for r in seen[:2])
            assert retry != first  # the retry carries the token of a new refresh
            assert len(answered("/auth/refresh")) > refreshed
            wait_for(page, lambda: answered("/users/me")[-1].status == 200, "the retry's answer")
            expect(page.locator("#status")).not_to_have_class("error")
            page.unroute(f"{api}/api/v1/users/me")
            # The browser logs the injected 401 as an error; nothing else is expected.
            assert len([e for e in errors if "status of 401" in e]) == 1
            errors[:] = [e for e in errors if "status of 401" not in e]

            # Checkout: the page navigates to the (fake) Stripe Checkout page.
            page.click("button[data-plan=pro]")
            page.wait_for_url(f"{fake.url}/c/pay/**")
            assert answered("/billing/create-checkout-session")[0].status == 200
            [session] = fake.objects("checkout_sessions")
            assert page.url == session["url"]
            # The customer pays; Stripe sends the webhooks and the browser back.
            fake.complete_checkout(session["id"])
            deliver_webhooks(servers)
            success_url = session["success_url"]
            assert success_url.startswith(f"{servers.page}/?api=")
            page.goto(success_url.replace("{CHECKOUT_SESSION_ID}", session["id"]))
            # Back on the page: the session resumes from the refresh token, plan synced.
            expect(page.locator("#me-email")).to_have_text(EMAIL)
            expect(page.locator("#plan")).to_have_text("Pro")
            expect(page.locator("#subscription-status")).to_have_text("(active)")
            assert answered("/billing/sync")[-1].status == 200
            assert "checkout=" not in page.url
            screenshot = tmp_path / "signed-in.png"
            page.screenshot(path=str(screenshot), full_page=True)
            assert screenshot.stat().st_size > 1000
            assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

            # The customer portal, and back to the page by its return URL.
            page.click("#portal")
            page.wait_for_url(f"{fake.url}/p/session/**")
            assert answered("/billing/customer-portal")[-1].status == 200
            [portal] = fake.objects("portal_sessions")
            assert page.url == portal["url"]
            # server.py's default return URL: the page, with its API parameter.
            return_url = portal["return_url"]
            assert return_url.startswith(f"{servers.page}/?api=")
            page.goto(return_url)
            expect(page.locator("#me-email")).to_have_text(EMAIL)

            # Log out: /me disappears, and the token the page held is dead.
            token = bearer_of(page)
            page.click("#logout")
            expect(page.locator("#signed-in")).to_be_hidden()
            expect(page.locator("#signed-out")).to_be_visible()
            expect(page.locator("#me-email")).to_have_text("")
            assert answered("/auth/logout")[-1].status == 204
            assert page.evaluate("window.sessionStorage.length") == 0
            gone = httpx.get(f"{api}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
            assert gone.status_code == 401
            page.screenshot(path=str(tmp_path / "signed-out.png"))
            assert errors == []
        finally:
            browser.close()

"""Headless Chromium drives the admin console: log in, find a user, impersonate, replay a
failed webhook event, see a chart.

The console runs in a subprocess (``tests/e2e/admin_server.py``: ``examples/admin/app.py``
with seeded data) on a scratch SQLite database migrated with saaskit's packaged
migrations, billing on a fake Stripe started here. Without Playwright or Chromium the test
skips with the reason; under ``CI=true`` it fails instead, so CI cannot pass without it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from saaskit.migrations import packaged_config, upgrade
from saaskit.testing.fake_stripe import FakeStripe
from tests.ports import free_port

pytestmark = pytest.mark.slow

IN_CI = os.environ.get("CI", "").lower() == "true"
SERVER = Path(__file__).resolve().parent / "admin_server.py"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
TIMEOUT_MS = 15_000


def need(found: bool, reason: str) -> None:
    """Skip without ``found`` locally; fail under CI, where a skip would hide a gap."""
    if not found:
        if IN_CI:
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.fixture
def console(tmp_path: Path) -> Iterator[str]:
    need(_has("playwright"), "needs Playwright for Python: pip install 'saaskit[browser]'")
    need(_has("sqladmin"), "needs SQLAdmin: pip install 'saaskit[admin]'")
    need(Path(CHROMIUM).exists(), "needs Chromium: apt-get install chromium")
    database = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    upgrade(packaged_config(database))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with FakeStripe() as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAASKIT_")}
        env.update(
            {
                "SAASKIT_DATABASE_URL": database,
                "SAASKIT_SECRET_KEY": "admin-browser-test-secret-key-0123456789",
                "SAASKIT_AUTH__BCRYPT_ROUNDS": "4",
                "SAASKIT_BILLING__ENABLED": "true",
                "SAASKIT_BILLING__SECRET_KEY": fake.api_key,
                "SAASKIT_BILLING__WEBHOOK_SECRET": fake.webhook_secret,
                "SAASKIT_BILLING__API_BASE": fake.url,
                "SAASKIT_BILLING__MAX_NETWORK_RETRIES": "0",
            }
        )
        log = tmp_path / "server.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, str(SERVER), "--port", str(port)],
                cwd=tmp_path,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, f"admin_server.py exited:\n{log.read_text()}"
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"no answer:\n{log.read_text()}"
                time.sleep(0.05)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def test_admin_console_in_a_browser(console: str) -> None:
    from playwright.sync_api import expect, sync_playwright

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

            # Log in with the kit's credentials.
            page.goto(f"{console}/admin/")
            expect(page).to_have_url(f"{console}/admin/login")
            page.fill("input[name=username]", "root@example.com")
            page.fill("input[name=password]", "correct horse battery")
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{console}/admin/")

            # Find a user.
            page.goto(f"{console}/admin/user/list")
            page.fill("#search-input", "bob@")
            page.keyboard.press("Enter")
            expect(page.locator("table")).to_contain_text("bob@example.com")
            expect(page.locator("table")).not_to_contain_text("root@example.com")
            page.click("text=bob@example.com")
            expect(page.locator("#account")).to_contain_text("bob@example.com")
            expect(page.locator("#sessions")).to_contain_text("203.0.113.7")

            # Impersonate: a token pair that works on the API as Bob.
            page.fill("#reason", "ticket #1234 (browser test)")
            page.click("#impersonate")
            expect(page.locator("#impersonation-started")).to_be_visible()
            token = page.locator("#access-token").input_value()
            me = httpx.get(
                f"{console}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
            )
            assert me.json()["email"] == "bob@example.com"
            page.click("#end-impersonation")
            expect(page.locator("#done")).to_contain_text("impersonation-ended")
            gone = httpx.get(
                f"{console}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
            )
            assert gone.status_code == 401

            # Replay a failed webhook event.
            page.goto(f"{console}/admin/webhook-event/list")
            page.click("text=failed · replay")
            expect(page.locator("#status")).to_have_text("failed")
            page.click("#replay")
            expect(page.locator("#outcome")).to_have_text("Processed.")
            expect(page.locator("#status")).to_have_text("processed")

            # See a chart: today's signups, Bob's login and his AI tokens are bars.
            page.goto(f"{console}/admin/activity")
            expect(page.locator("svg#signups rect.bar")).not_to_have_count(0)
            expect(page.locator("svg#logins rect.bar[data-series=logins]")).not_to_have_count(0)
            expect(page.locator("svg#ai-usage")).to_be_visible()
            expect(page.locator("svg#ai-usage > title")).to_have_text("AI tokens per day and model")
            bar = page.locator('svg#ai-usage rect.bar[data-series="gpt-4o-mini"]')
            expect(bar).to_have_count(1)
            expect(bar).to_have_attribute("data-value", "200")

            # The audit log shows what was done, with both people for the impersonation.
            page.goto(f"{console}/admin/audit/list")
            for action in ("admin_login", "impersonation_started", "webhook_replayed"):
                expect(page.locator("table")).to_contain_text(action)
            assert errors == []
        finally:
            browser.close()

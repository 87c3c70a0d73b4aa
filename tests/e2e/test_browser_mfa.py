"""The browser example's two-factor authentication, in headless Chromium.

The page turns 2FA on (secret, QR code, first code, recovery codes shown once), and a
later login goes through the challenge step: with a code from the "app" (computed here
from the secret the page showed), with a recovery code, and with a spent one (refused).
Servers and browser as in ``test_browser.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from saaskit.mfa import totp
from tests.e2e.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    Servers,
    servers,  # noqa: F401 - the fixture
)
from tests.secret_scan import REGISTRY

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

pytestmark = pytest.mark.slow

EMAIL = "bob@example.com"
PASSWORD = "correct horse battery"


def app_code(secret: str, offset: int = 0) -> str:
    """What the authenticator app shows now (``offset`` steps later)."""
    return totp.code_at(secret, totp.step_at(time.time()) + offset)


def no_code(secret: str) -> str:
    step = totp.step_at(time.time())
    valid = {totp.code_at(secret, step + offset) for offset in (-2, -1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in valid)


def log_in(page: Page) -> None:
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("#login")
    expect(page.locator("#mfa-challenge")).to_be_visible()
    expect(page.locator("#signed-in")).to_be_hidden()


def second_step(page: Page, code: str) -> None:
    page.fill("#mfa-code", code)
    page.click("#mfa-verify")


def test_two_factor_authentication_in_the_browser(servers: Servers, tmp_path: Path) -> None:  # noqa: F811
    start = f"{servers.page}/?api={servers.api}/api/v1"
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
                if message.type == "error":
                    errors.append(message.text)

            page.on("console", console)

            # Sign up and in: 2FA is off.
            page.goto(start)
            expect(page.locator("html")).to_have_attribute("data-ready", "true")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("#register")
            expect(page.locator("#status")).to_contain_text(f"Registered {EMAIL}")
            page.click("#login")
            expect(page.locator("#me-email")).to_have_text(EMAIL)
            expect(page.locator("#mfa-state")).to_have_text("off")

            # Turn it on: the QR code (an SVG image the CSP allows), the key, a first code.
            page.click("#mfa-setup")
            expect(page.locator("#mfa-qr")).to_be_visible()
            secret = page.locator("#mfa-secret").text_content() or ""
            assert len(secret) == 32
            REGISTRY.add("TOTP secret", secret)
            assert page.evaluate("document.getElementById('mfa-qr').naturalWidth") > 0
            page.fill("#mfa-confirm-code", app_code(secret))
            page.click("#mfa-confirm")
            expect(page.locator("#mfa-code-list li")).to_have_count(10)
            codes = page.locator("#mfa-code-list li").all_text_contents()
            for code in codes:
                REGISTRY.add("recovery code", code)
            expect(page.locator("#mfa-state")).to_have_text("on (10 recovery codes left)")
            expect(page.locator("#mfa-secret")).to_have_text("")
            page.screenshot(path=str(tmp_path / "mfa-on.png"), full_page=True)
            page.click("#logout")
            expect(page.locator("#signed-out")).to_be_visible()
            expect(page.locator("#mfa-code-list li")).to_have_count(0)

            # Log in: the password step asks for a code; a wrong one, then the app's.
            log_in(page)
            second_step(page, no_code(secret))
            expect(page.locator("#status")).to_have_text("The code is not valid.")
            expect(page.locator("#mfa-challenge")).to_be_visible()
            # One step ahead: the confirming code's step is spent (no replay).
            second_step(page, app_code(secret, 1))
            expect(page.locator("#me-email")).to_have_text(EMAIL)
            expect(page.locator("#mfa-challenge")).to_be_hidden()
            page.click("#logout")

            # A recovery code works once.
            log_in(page)
            second_step(page, codes[0].upper())
            expect(page.locator("#me-email")).to_have_text(EMAIL)
            expect(page.locator("#mfa-state")).to_have_text("on (9 recovery codes left)")
            page.click("#logout")
            log_in(page)
            second_step(page, codes[0])
            expect(page.locator("#status")).to_have_text("The code is not valid.")
            page.click("#mfa-cancel")
            expect(page.locator("#credentials")).to_be_visible()
            assert page.evaluate("window.sessionStorage.length") == 0

            # Only the refused requests were logged (403 mfa_required, 401 wrong codes).
            unexpected = [
                e for e in errors if "status of 401" not in e and "status of 403" not in e
            ]
            assert unexpected == []
        finally:
            browser.close()

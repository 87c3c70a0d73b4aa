"""The example page's billing in a real browser, against the fake Stripe's own pages.

Headless Chromium (Debian's, through Playwright for Python) picks a yearly plan, pays on
the fake Stripe's checkout page (which delivers the webhooks to the API before sending the
browser back), previews a plan change and confirms it with the preview's proration date,
cancels and resumes, and pages through the invoices. Locally the test skips without
Chromium or Playwright; under ``CI=true`` it fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

from saaskit.migrations import packaged_config, upgrade
from saaskit.testing.fake_stripe import FakeStripe
from tests.ports import free_port

pytestmark = pytest.mark.slow

IN_CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "examples" / "frontend" / "server.py"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EMAIL = "buyer@example.com"
PASSWORD = "correct horse battery"
PLANS = {
    "free": {"name": "Free"},
    "pro": {"name": "Pro", "price": "pro_monthly", "prices": ["pro_yearly"]},
    "team": {"name": "Team", "price": "team_monthly", "prices": ["team_yearly"]},
}
TIMEOUT_MS = 15_000


def _missing(reason: str, *, module: bool = False) -> NoReturn:
    """Skip for ``reason`` locally; fail under ``CI=true``, where the browser must run."""
    if IN_CI:
        pytest.fail(f"CI must run the browser billing test: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=module)


try:
    from playwright.sync_api import Page, Request, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    _missing(
        "needs Playwright for Python: pip install 'saaskit[browser]' (no browser download)",
        module=True,
    )


@dataclass
class Servers:
    api: str
    page: str
    fake: FakeStripe


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    if not Path(CHROMIUM).exists():
        _missing("needs Chromium: apt-get install chromium (Debian's package)")
    database = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    upgrade(packaged_config(database))
    api_port, page_port = free_port(), free_port()
    api, page = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{page_port}"
    with FakeStripe(port=free_port()) as fake:
        for key, amount, interval in (
            ("pro_monthly", 2000, "month"),
            ("pro_yearly", 20000, "year"),
            ("team_monthly", 5000, "month"),
            ("team_yearly", 50000, "year"),
        ):
            fake.add_price(key, unit_amount=amount, interval=interval, product=key.split("_")[0])
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAASKIT_")}
        env.update(
            {
                "SAASKIT_DATABASE_URL": database,
                "SAASKIT_SECRET_KEY": "browser-test-secret-key-0123456789abcdef",
                "SAASKIT_AUTH__BCRYPT_ROUNDS": "4",
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
        fake.forward_webhooks(f"{api}/api/v1/billing/webhook", log=False)
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
                while True:
                    assert process.poll() is None, f"server.py exited:\n{log.read_text()}"
                    try:
                        if httpx.get(url, timeout=1).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
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


def _body(request: Request) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(request.post_data or "{}")
    return data


def test_plan_picker_checkout_preview_change_cancel_resume_and_invoices(
    servers: Servers,
) -> None:
    fake = servers.fake
    start = f"{servers.page}/?api={servers.api}/api/v1"
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=30_000
        )
        try:
            page: Page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            requests: list[Request] = []
            page.on("request", lambda request: requests.append(request))

            def sent(path: str) -> list[Request]:
                return [r for r in requests if r.url.endswith(path) and r.method == "POST"]

            page.goto(start)
            expect(page.locator("html")).to_have_attribute("data-ready", "true")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("#register")
            expect(page.locator("#status")).to_contain_text(f"Registered {EMAIL}")
            page.click("#login")
            expect(page.locator("#plan")).to_have_text("Free")
            expect(page.locator("#no-invoices")).to_be_visible()

            # The plan picker: prices per interval.
            pro = page.locator("button[data-plan=pro]")
            expect(pro).to_contain_text("$20.00/month")
            page.check("#interval-year")
            expect(pro).to_contain_text("$200.00/year")
            expect(page.locator("button[data-plan=team]")).to_contain_text("$500.00/year")

            # Checkout on the fake's page: Pay, webhooks, back to the page.
            pro.click()
            page.wait_for_url(f"{fake.url}/c/pay/**")
            assert _body(sent("/billing/create-checkout-session")[0])["interval"] == "year"
            expect(page.locator("body")).to_contain_text("200.00 USD / year")
            page.click("#pay")
            page.wait_for_url(f"{servers.page}/**")
            expect(page.locator("#plan")).to_have_text("Pro")
            expect(page.locator("#subscription-status")).to_have_text("(active)")
            expect(page.locator("#renewal")).to_contain_text("Renews on")
            rows = page.locator("#invoices tbody tr")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text("$200.00")
            expect(rows.first).to_contain_text("paid")
            [subscription] = fake.objects("subscriptions")
            assert subscription["items"]["data"][0]["price"]["lookup_key"] == "pro_yearly"
            # The current price is not offered; the other plans are, as changes.
            expect(pro).to_have_count(0)
            page.check("#interval-month")
            expect(pro).to_contain_text("Switch to Pro")

            # A plan change: preview first, then confirm with the preview's date.
            page.check("#interval-year")
            page.click("button[data-plan=team]")
            expect(page.locator("#preview")).to_be_visible()
            expect(page.locator("#preview-plan")).to_contain_text("Team")
            expect(page.locator("#preview-lines tr")).to_have_count(3)
            expect(page.locator("#preview-due")).to_contain_text("$")
            preview = sent("/billing/subscription/preview")[-1].response()
            assert preview is not None
            proration_date = preview.json()["proration_date"]
            page.click("#confirm-change")
            expect(page.locator("#plan")).to_have_text("Team")
            expect(page.locator("#preview")).to_be_hidden()
            change = _body(sent("/billing/subscription/change")[-1])
            assert change == {"plan": "team", "interval": "year", "proration_date": proration_date}
            [update] = [
                r for r in fake.requests if r.method == "POST" and r.path.startswith("/v1/subs")
            ]
            when = int(datetime.fromisoformat(proration_date).timestamp())
            assert update.params["proration_date"] == str(when)  # what the preview showed

            # Cancel at period end, then resume.
            page.click("#cancel-subscription")
            expect(page.locator("#renewal")).to_contain_text("Cancels on")
            expect(page.locator("#cancel-subscription")).to_be_hidden()
            page.click("#resume-subscription")
            expect(page.locator("#renewal")).to_contain_text("Renews on")
            expect(page.locator("#resume-subscription")).to_be_hidden()
            expect(page.locator("#subscription-status")).to_have_text("(active)")

            # Invoices page 5 at a time: six renewals later, "More invoices" loads the rest.
            for _ in range(6):
                fake.renew(subscription["id"])
            assert fake.flush_webhooks()
            page.reload()
            expect(page.locator("#plan")).to_have_text("Team")
            expect(rows).to_have_count(5)
            page.click("#more-invoices")
            expect(rows).to_have_count(7)
            expect(page.locator("#more-invoices")).to_be_hidden()
            numbers = [row.get_attribute("data-invoice") for row in rows.all()]
            assert len(set(numbers)) == 7  # no invoice twice across pages
            view = rows.first.locator("a", has_text="View")
            assert (view.get_attribute("href") or "").startswith(f"{fake.url}/i/")
            assert errors == []
        finally:
            browser.close()

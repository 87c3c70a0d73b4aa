"""``saaskit demo --fake-stripe``: billing end to end with no Stripe account, over real HTTP."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from saaskit.cli.fake_stripe import DEMO_PLANS, demo_environment, start_fake_stripe
from saaskit.settings import SaaSKitSettings
from tests.cli.helpers import backend_env, serving, stopped_gracefully
from tests.helpers import PASSWORD
from tests.ports import free_port


@pytest.mark.slow
def test_demo_with_the_fake_stripe_sells_a_plan_through_the_checkout_page(
    clean_environment: Path, scratch_database_url: str
) -> None:
    with (
        serving(
            "demo",
            "--fake-stripe",
            cwd=clean_environment,
            ready_path="/health",
            **backend_env(scratch_database_url),
            # what a .env made for production could hold: the flag must override both
            SAASKIT_BILLING__API_BASE="https://api.stripe.com",
            SAASKIT_BILLING__SECRET_KEY="sk_live_never_used_by_the_demo",
        ) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        http.post(
            "/api/v1/auth/register", json={"email": "buyer@example.com", "password": PASSWORD}
        )
        login = http.post(
            "/api/v1/auth/login", data={"username": "buyer@example.com", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

        plans = http.get("/api/v1/billing/plans").json()
        by_key = {p["key"]: p for p in plans}
        assert set(by_key) == set(DEMO_PLANS)
        assert sorted(p["interval"] for p in by_key["pro"]["prices"]) == ["month", "year"]

        checkout = http.post(
            "/api/v1/billing/create-checkout-session", json={"plan": "pro", "interval": "year"}
        )
        assert checkout.status_code == 200, checkout.text
        pay_url = checkout.json()["url"]
        assert pay_url.startswith("http://127.0.0.1:")  # the fake, never api.stripe.com
        with httpx.Client(timeout=10) as browser:
            page = browser.get(pay_url)
            assert page.status_code == 200
            assert "200.00 USD / year" in page.text
            paid = browser.post(pay_url)
            assert paid.status_code == 303
            landing = urlsplit(paid.headers["Location"])
            assert f"{landing.scheme}://{landing.netloc}" == server.base_url
            assert parse_qs(landing.query)["session_id"] == [checkout.json()["id"]]
            # the webhooks were delivered before the redirect: the plan is granted
            status = http.get("/api/v1/billing/subscription").json()
            assert (status["plan"], status["entitled"]) == ("pro", True)
            assert status["subscription"]["status"] == "active"
            assert browser.post(pay_url).status_code == 409  # paid once only
        invoices = http.get("/api/v1/billing/invoices").json()["data"]
        assert [i["total"] for i in invoices] == [20000]
    assert stopped_gracefully(server), server.output()
    output = server.output()
    assert "Fake Stripe on http://127.0.0.1:" in output
    assert "sk_live_never_used_by_the_demo" not in output


def test_the_demo_settings_point_at_the_fake_whatever_the_environment_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAASKIT_BILLING__API_BASE", "https://api.stripe.com")
    monkeypatch.setenv("SAASKIT_BILLING__SECRET_KEY", "sk_live_never_used")
    monkeypatch.setenv("SAASKIT_BILLING__WEBHOOK_SECRET", "whsec_real_one")
    with start_fake_stripe(port=free_port(), log=False) as fake:
        for name, value in demo_environment(fake, "http://127.0.0.1:8000").items():
            monkeypatch.setenv(name, value)
        billing = SaaSKitSettings().billing
        url = fake.url
    assert billing.api_base == url
    assert billing.secret_key is not None
    assert billing.secret_key.get_secret_value() == fake.api_key
    assert billing.webhook_secret is not None
    assert billing.webhook_secret.get_secret_value() == fake.webhook_secret
    assert set(billing.plans) == set(DEMO_PLANS)


@pytest.mark.parametrize("missing", ["httpx", "stripe"])
def test_without_the_stripe_extra_the_fake_names_it(
    missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pip install saaskit` alone: a one-line error naming the extra, not a traceback."""
    import importlib.util

    from tests.cli.helpers import invoke

    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == missing else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    for command in (["fake-stripe", "--port", str(free_port())], ["demo", "--fake-stripe"]):
        result = invoke(*command)
        assert result.exit_code == 1, result.output
        assert "pip install 'saaskit[stripe]'" in result.output
        assert "Traceback" not in result.output

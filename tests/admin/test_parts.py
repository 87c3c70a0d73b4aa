"""The console's parts without a browser: the SVG charts, the Origin check, the tokens."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from saaskit.admin.charts import bar_chart
from saaskit.admin.security import OriginCheckMiddleware, check_csrf, csrf_token
from saaskit.admin.stats import days_back


def test_a_bar_chart_stacks_its_series_and_escapes_labels() -> None:
    svg = bar_chart(
        "Logins <per> day",
        ["2026-12-01", "2026-12-02"],
        {"ok": [3, 0], "<script>": [1, 2]},
        chart_id="logins",
    )

    assert svg.startswith('<svg id="logins"')
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert svg.count('class="bar"') == 3  # zero values draw nothing
    assert 'data-value="3"' in svg
    assert "No data" not in svg


def test_an_empty_chart_says_so() -> None:
    svg = bar_chart("Signups", ["2026-12-01"], {"signups": [0]}, chart_id="signups")

    assert "No data in this period." in svg
    assert 'class="bar"' not in svg


def test_days_back_counts_today_and_goes_oldest_first() -> None:
    assert days_back(3, date(2026, 3, 1)) == ["2026-02-27", "2026-02-28", "2026-03-01"]


async def _ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "http://console.test"}, 200),
        ({"Origin": "http://console.test:80"}, 200),
        ({"Referer": "http://console.test/admin/login"}, 200),
        ({"Origin": "https://proxy.example"}, 200),  # allowed by the host
        ({"Origin": "http://console.test.evil.example"}, 403),
        ({"Origin": "https://console.test"}, 403),  # another scheme: another origin
        ({"Origin": "null"}, 403),
        ({"Origin": "http://evil.example", "Referer": "http://console.test/"}, 403),
        ({}, 403),
    ],
)
async def test_unsafe_requests_must_come_from_the_console_s_origin(
    headers: dict[str, str], status: int
) -> None:
    app = Starlette(routes=[Route("/", _ok, methods=["GET", "POST"])])
    wrapped = OriginCheckMiddleware(app, allowed_origins=["https://proxy.example/"])
    transport = httpx.ASGITransport(app=wrapped)
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as client:
        assert (await client.post("/", headers=headers)).status_code == status
        assert (await client.get("/", headers=headers)).status_code == 200  # safe: passes


def test_csrf_tokens_are_per_session_and_compared_whole() -> None:
    session: dict[str, object] = {}
    token = csrf_token(session)

    assert csrf_token(session) == token
    assert check_csrf(session, token)
    assert not check_csrf(session, token[:-1])
    assert not check_csrf(session, None)
    assert not check_csrf({}, token)
    assert csrf_token({}) != token


class FakeMfa:
    """What KitSecondFactor needs of the 2FA service."""

    def __init__(self) -> None:
        self.proofs: list[object] = []
        self.resets: list[tuple[int, int]] = []
        self.attempts = 0
        self.limit = 3

    async def state(self, user_id: int) -> object:
        from saaskit.mfa.service import MfaState

        return MfaState(enabled=user_id == 1)

    async def check_proof(self, user_id: int, proof: object) -> str:
        from saaskit.mfa.errors import MfaCodeInvalid

        self.proofs.append(proof)
        if getattr(proof, "code", None) == "123456":
            return "totp"
        raise MfaCodeInvalid()

    async def reset(self, user_id: int, *, actor_id: int, client: object) -> bool:
        self.resets.append((user_id, actor_id))
        return True

    async def count_attempt(self, user_id: int) -> None:
        from saaskit.exceptions import RateLimited

        self.attempts += 1
        if self.attempts > self.limit:
            raise RateLimited(60)

    async def attempt_passed(self, user_id: int) -> None:
        self.attempts = 0


async def test_the_kit_s_2fa_is_the_console_s_second_factor() -> None:
    from types import SimpleNamespace

    from saaskit.admin.mfa import KitSecondFactor

    service = FakeMfa()
    factor = KitSecondFactor(service)
    enrolled, other = SimpleNamespace(id=1), SimpleNamespace(id=2)

    assert await factor.required(enrolled)
    assert not await factor.required(other)
    assert await factor.verify(enrolled, "123456")
    assert not await factor.verify(enrolled, "000000")
    assert not await factor.verify(enrolled, "not a code!")  # neither form: never checked
    await factor.reset(2, actor_id=1)
    assert service.resets == [(2, 1)]
    assert len(service.proofs) == 2
    # The console's codes count against the account's 2FA attempts: over the limit, even
    # the right code is refused (and not checked).
    for _ in range(3):
        assert not await factor.verify(enrolled, "000000")
    assert not await factor.verify(enrolled, "123456")
    assert len(service.proofs) == 4  # two more were checked before the limit


async def test_mount_admin_uses_the_kit_s_2fa_by_default(database_url: str) -> None:
    from fastapi import FastAPI

    from saaskit import SaaSKit
    from saaskit.admin import mount_admin
    from saaskit.admin.mfa import KitSecondFactor
    from tests.helpers import make_settings, new_store

    kit = SaaSKit(make_settings(database_url), store=new_store())
    try:
        admin = mount_admin(kit, FastAPI())
        assert kit.features.built("mfa") is not None  # 2FA is on by default
        assert isinstance(admin.authentication_backend.second_factor, KitSecondFactor)
    finally:
        await kit.aclose()

"""Rate limits on login, register, forgot-password and refresh, and who counts as "one IP"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.auth.ratelimit import RateLimiter, RateLimitRule
from saaskit.exceptions import RateLimited
from saaskit.models import User
from saaskit.settings import RateLimit, RateLimitSettings
from saaskit.store import MemoryStore
from tests.helpers import PASSWORD, KitFactory, answer, build_app, client_for, register, signed_up

LOGIN = "/api/v1/auth/login"
FORGOT = "/api/v1/auth/forgot-password"
WRONG = "wrong-" + PASSWORD


async def limited_client(make_kit: KitFactory, **limits: Any) -> httpx.AsyncClient:
    kit = await make_kit(rate_limit=limits)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=build_app(kit), raise_app_exceptions=False),
        base_url="http://test",
    )


@asynccontextmanager
async def peer(kit: SaaSKit[User], ip: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose TCP peer address is ``ip``."""
    transport = httpx.ASGITransport(
        app=build_app(kit), raise_app_exceptions=False, client=(ip, 123)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def attempt(client: httpx.AsyncClient, email: str, password: str = WRONG) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password})


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit()
    assert 0 < int(retry_after) <= 60


async def test_failed_logins_per_account_end_in_429_with_retry_after(
    make_kit: KitFactory,
) -> None:
    async with await limited_client(make_kit, login_account="3/60") as client:
        await register(client)
        statuses = [(await attempt(client, "alice@example.com")).status_code for _ in range(3)]
        blocked = await attempt(client, "alice@example.com")
        right_password_too = await attempt(client, "alice@example.com", PASSWORD)
        other_account = await attempt(client, "bob@example.com")

    assert statuses == [401, 401, 401]
    assert_rate_limited(blocked)
    assert_rate_limited(right_password_too)
    assert other_account.status_code == 401


async def test_unknown_email_is_throttled_exactly_like_a_real_one(make_kit: KitFactory) -> None:
    async with await limited_client(make_kit, login_account="2/60") as client:
        await register(client)
        real = [await attempt(client, "alice@example.com") for _ in range(3)]
        unknown = [await attempt(client, "nobody@example.com") for _ in range(3)]

    for known, ghost in zip(real, unknown, strict=True):
        assert known.status_code == ghost.status_code
        assert answer(known) == answer(ghost)
        assert ("retry-after" in known.headers) == ("retry-after" in ghost.headers)
    assert_rate_limited(unknown[-1])


async def test_a_successful_login_resets_the_account_counter(make_kit: KitFactory) -> None:
    async with await limited_client(make_kit, login_account="3/60") as client:
        await register(client)
        for _ in range(2):
            assert (await attempt(client, "alice@example.com")).status_code == 401
        assert (await attempt(client, "alice@example.com", PASSWORD)).status_code == 200

        after = [(await attempt(client, "alice@example.com")).status_code for _ in range(4)]

    assert after == [401, 401, 401, 429]


async def test_failed_logins_per_ip_are_limited_across_emails(make_kit: KitFactory) -> None:
    async with await limited_client(make_kit, login_ip="3/60") as client:
        statuses = [(await attempt(client, f"user{i}@example.com")).status_code for i in range(3)]
        blocked = await attempt(client, "fresh@example.com")

    assert statuses == [401, 401, 401]
    assert_rate_limited(blocked)


async def test_registrations_are_limited_per_ip(make_kit: KitFactory) -> None:
    async with await limited_client(make_kit, register_ip="2/60") as client:
        created = [(await register(client, f"u{i}@example.com")).status_code for i in range(2)]
        blocked = await register(client, "third@example.com")

    assert created == [201, 201]
    assert_rate_limited(blocked)


async def test_forgot_password_is_limited_per_email_alike_for_known_and_unknown(
    make_kit: KitFactory,
) -> None:
    async with await limited_client(make_kit, forgot_email="2/60") as client:
        await register(client)
        known = [await client.post(FORGOT, json={"email": "alice@example.com"}) for _ in range(3)]
        unknown = [await client.post(FORGOT, json={"email": "ghost@example.com"}) for _ in range(3)]

    assert [r.status_code for r in known] == [202, 202, 429]
    assert [r.status_code for r in unknown] == [202, 202, 429]
    assert answer(known[-1]) == answer(unknown[-1])
    assert_rate_limited(unknown[-1])


async def test_forgot_password_is_limited_per_ip(make_kit: KitFactory) -> None:
    async with await limited_client(make_kit, forgot_ip="2/60") as client:
        statuses = [
            (await client.post(FORGOT, json={"email": f"u{i}@example.com"})).status_code
            for i in range(3)
        ]

    assert statuses == [202, 202, 429]


async def test_refreshes_are_limited_per_session(make_kit: KitFactory) -> None:
    async with await limited_client(make_kit, refresh_session="2/60") as client:
        tokens = await signed_up(client)
        other = (
            await client.post(LOGIN, json={"email": "alice@example.com", "password": PASSWORD})
        ).json()
        token, statuses = tokens["refresh_token"], []
        for _ in range(3):
            response = await client.post("/api/v1/auth/refresh", json={"refresh_token": token})
            statuses.append(response.status_code)
            token = response.json().get("refresh_token", token)
        other_session = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}
        )

    assert statuses == [200, 200, 429]
    assert other_session.status_code == 200


async def test_disabling_rate_limits_switches_every_limit_off(make_kit: KitFactory) -> None:
    tiny = dict.fromkeys(("login_account", "login_ip", "register_ip", "forgot_ip"), "1/60")
    async with await limited_client(make_kit, enabled=False, **tiny) as client:
        registered = [(await register(client, f"u{i}@example.com")).status_code for i in range(3)]
        logins = [(await attempt(client, "u0@example.com")).status_code for _ in range(5)]
        forgot = [
            (await client.post(FORGOT, json={"email": "u0@example.com"})).status_code
            for _ in range(5)
        ]

    assert registered == [201] * 3
    assert logins == [401] * 5
    assert forgot == [202] * 5


@pytest.mark.parametrize(
    ("text", "limit", "window"),
    [("10/15m", 10, 900), ("5/1h", 5, 3600), ("100/3600", 100, 3600), ("3/2d", 3, 172800)],
)
def test_rate_limits_are_written_limit_slash_window(text: str, limit: int, window: int) -> None:
    assert RateLimit.model_validate(text) == RateLimit(limit=limit, window_seconds=window)


@pytest.mark.parametrize("text", ["abc", "10", "10/", "/60", "ten/60", "0/60", "5/0"])
def test_malformed_rate_limits_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        RateLimit.model_validate(text)


def test_malformed_rate_limit_message_shows_the_format() -> None:
    with pytest.raises(ValidationError, match=r"LIMIT/WINDOW, e\.g\. 10/15m"):
        SaaSKitSettings(rate_limit={"login_account": "abc"})


def test_rate_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAASKIT_RATE_LIMIT__LOGIN_ACCOUNT", "3/60")
    monkeypatch.setenv("SAASKIT_RATE_LIMIT__FORGOT_IP", "7/1h")

    limits = SaaSKitSettings().rate_limit

    assert limits.login_account == RateLimit(limit=3, window_seconds=60)
    assert limits.forgot_ip == RateLimit(limit=7, window_seconds=3600)


async def test_x_forwarded_for_cannot_dodge_the_ip_limit_without_a_trusted_proxy(
    make_kit: KitFactory,
) -> None:
    kit = await make_kit(rate_limit={"login_ip": "2/60"})
    async with peer(kit, "10.0.0.1") as client:
        responses = [
            await client.post(
                LOGIN,
                json={"email": f"u{i}@example.com", "password": WRONG},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            )
            for i in range(3)
        ]

    assert [r.status_code for r in responses] == [401, 401, 429]


async def test_behind_a_trusted_proxy_the_forwarded_ip_is_the_client(
    make_kit: KitFactory,
) -> None:
    kit = await make_kit(rate_limit={"login_ip": "2/60"}, http={"trusted_proxies": ["10.0.0.0/8"]})

    async def fail_from(client: httpx.AsyncClient, ip: str, email: str) -> int:
        response = await client.post(
            LOGIN, json={"email": email, "password": WRONG}, headers={"X-Forwarded-For": ip}
        )
        return response.status_code

    async with peer(kit, "10.0.0.1") as client:
        spread = [await fail_from(client, f"203.0.113.{i}", f"u{i}@example.com") for i in range(4)]
        same = [await fail_from(client, "198.51.100.7", f"v{i}@example.com") for i in range(3)]
        await register(client)
        tokens = (
            await client.post(
                LOGIN,
                json={"email": "alice@example.com", "password": PASSWORD},
                headers={"X-Forwarded-For": "192.0.2.44"},
            )
        ).json()
        listed = await client.get(
            "/api/v1/auth/sessions", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )

    assert spread == [401, 401, 401, 401]
    assert same == [401, 401, 429]
    assert listed.json()[0]["ip"] == "192.0.2.44"


async def test_without_trusted_proxies_the_peer_address_is_recorded(
    kit: SaaSKit[User],
) -> None:
    async with client_for(kit) as c:
        await register(c)
        tokens = (
            await c.post(
                LOGIN,
                json={"email": "alice@example.com", "password": PASSWORD},
                headers={"X-Forwarded-For": "192.0.2.44"},
            )
        ).json()
        listed = await c.get(
            "/api/v1/auth/sessions", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )

    assert listed.json()[0]["ip"] == "127.0.0.1"


def test_every_rate_limit_rule_is_a_setting_and_every_setting_a_rule() -> None:
    settings = RateLimitSettings()
    limiter = RateLimiter(MemoryStore(), settings)
    fields = {name for name in RateLimitSettings.model_fields if name != "enabled"}

    assert {rule.value for rule in RateLimitRule} == fields
    for rule in RateLimitRule:
        assert limiter.rule(rule) is getattr(settings, rule.value)


async def test_a_rule_given_by_its_plain_name_counts_in_the_same_window() -> None:
    limiter = RateLimiter(
        MemoryStore(), RateLimitSettings(login_ip=RateLimit(limit=1, window_seconds=60))
    )
    await limiter.hit(RateLimitRule.LOGIN_IP, "203.0.113.9")

    with pytest.raises(RateLimited):
        await limiter.hit("login_ip", "203.0.113.9")  # type: ignore[arg-type]

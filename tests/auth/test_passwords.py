"""Password policy and hashing: bcrypt cost 12 by default, off the event loop, rehash."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.auth.passwords import PwdlibHasher
from saaskit.exceptions import InvalidPassword
from saaskit.models import User
from saaskit.settings import AuthSettings
from tests.helpers import PASSWORD, KitFactory, client_for, login, register
from tests.loopwatch import BesideTheLoop


@pytest.fixture
def hasher() -> Iterator[PwdlibHasher]:
    hasher = PwdlibHasher(AuthSettings(bcrypt_rounds=4))
    yield hasher
    hasher.close()


async def stored_hash(kit: SaaSKit[User], email: str = "alice@example.com") -> str:
    user = await kit.users.get_by_email(email)
    assert user is not None
    return user.hashed_password


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("", "at least 8"),
        ("1234567", "at least 8"),
        ("a" * 73, "72 bytes"),
        ("ü" * 37, "72 bytes"),
        ("password123", "too common"),
        ("PassWord123", "too common"),
        ("qwertyuiop", "too common"),
    ],
)
def test_policy_refuses(hasher: PwdlibHasher, password: str, reason: str) -> None:
    with pytest.raises(InvalidPassword, match=reason):
        hasher.check_policy(password)


@pytest.mark.parametrize("password", ["12345678x", "a" * 72, "ü" * 36, "pässwörd-ünïcødé"])
def test_policy_accepts(hasher: PwdlibHasher, password: str) -> None:
    hasher.check_policy(password)


def test_policy_follows_the_settings() -> None:
    lenient = PwdlibHasher(
        AuthSettings(bcrypt_rounds=4, min_password_length=4, reject_common_passwords=False)
    )
    strict = PwdlibHasher(AuthSettings(bcrypt_rounds=4, min_password_length=20))
    try:
        lenient.check_policy("abcd")
        lenient.check_policy("password123")
        with pytest.raises(InvalidPassword, match="at least 20"):
            strict.check_policy("nineteen-characters")
    finally:
        lenient.close()
        strict.close()


async def test_hash_and_verify(hasher: PwdlibHasher) -> None:
    hashed = await hasher.hash("pässwörd-ünïcødé")

    assert hashed.startswith("$2b$04$")
    assert await hasher.verify("pässwörd-ünïcødé", hashed) == (True, None)
    assert await hasher.verify("passwörd-ünïcødé", hashed) == (False, None)
    assert await hasher.verify("x" * 100, hashed) == (False, None)
    assert await hasher.verify("pässwörd-ünïcødé", "not-a-hash") == (False, None)
    assert await hasher.verify("pässwörd-ünïcødé", None) == (False, None)


async def test_unknown_accounts_and_overlong_passwords_still_pay_for_a_verify(
    client: httpx.AsyncClient, kit: SaaSKit[User], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dummy verify keeps the response time from telling which emails exist.
    assert isinstance(kit.passwords, PwdlibHasher)
    checked: list[str] = []
    original = kit.passwords._call

    async def counting(request: dict[str, Any]) -> dict[str, Any]:
        if request["op"] == "verify":
            checked.append(request["hash"][:7])
        return await original(request)

    monkeypatch.setattr(kit.passwords, "_call", counting)
    await register(client)

    for email, password in [("nobody@example.com", PASSWORD), ("alice@example.com", "a" * 80)]:
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 401

    assert checked == ["$2b$04$", "$2b$04$"]


async def test_default_kit_hashes_with_bcrypt_cost_12_off_the_event_loop(
    make_kit: KitFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = await make_kit(auth=AuthSettings())
    assert isinstance(kit.passwords, PwdlibHasher)
    hashing = BesideTheLoop(kit.passwords._pool.call, asyncio.get_running_loop())
    monkeypatch.setattr(kit.passwords._pool, "call", hashing)  # the pool is shared

    async with client_for(kit) as client:
        response = await register(client)

    assert response.status_code == 201
    assert (await stored_hash(kit)).startswith("$2b$12$")
    # The hash ran on another thread while the loop kept serving (no timing measured).
    hashing.assert_ran_beside_the_loop()


async def test_a_hash_is_upgraded_at_login_when_the_cost_is_raised(
    make_kit: KitFactory,
) -> None:
    cheap = await make_kit(auth={"bcrypt_rounds": 4})
    dearer = await make_kit(auth={"bcrypt_rounds": 5})
    async with client_for(cheap) as client:
        await register(client)
    assert (await stored_hash(cheap)).startswith("$2b$04$")

    async with client_for(dearer) as client:
        await login(client)
        upgraded = await stored_hash(dearer)
        await login(client)

    assert upgraded.startswith("$2b$05$")
    assert await stored_hash(dearer) == upgraded  # no second rehash


async def test_a_wrong_password_does_not_trigger_a_rehash(make_kit: KitFactory) -> None:
    cheap = await make_kit()
    dearer = await make_kit(auth={"bcrypt_rounds": 5})
    async with client_for(cheap) as client:
        await register(client)
    before = await stored_hash(cheap)

    async with client_for(dearer) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"email": "alice@example.com", "password": "wrong one!"}
        )

    assert response.status_code == 401
    assert await stored_hash(dearer) == before


async def test_switching_to_argon2_rehashes_bcrypt_users_at_login(make_kit: KitFactory) -> None:
    bcrypt_kit = await make_kit()
    argon_kit = await make_kit(auth={"password_hasher": "argon2"})
    async with client_for(bcrypt_kit) as client:
        await register(client)

    async with client_for(argon_kit) as client:
        await login(client)
        await register(client, "bob@example.com", password="a" * 100)  # no 72-byte limit

    assert (await stored_hash(argon_kit)).startswith("$argon2id$")
    assert (await stored_hash(argon_kit, "bob@example.com")).startswith("$argon2id$")
    async with client_for(argon_kit) as client:
        await login(client, "bob@example.com", password="a" * 100)

"""Look-alike email addresses: one canonical form everywhere, mixed scripts refused,
and the 64-octet local part (RFC 5321)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.audit.service import AuditAction
from saaskit.email import MemorySender
from saaskit.models import User
from tests.helpers import PASSWORD, answer, bearer, login, register

LOGIN = "/api/v1/auth/login"
USERS = "/api/v1/users"

ASCII = "alice@example.com"
FULLWIDTH = "\uff41lice@example.com"  # FULLWIDTH LATIN SMALL LETTER A, then "lice"
# ALICE@example.com in fullwidth letters, at-sign and full stop.
ALL_FULLWIDTH = "".join(chr(ord(c) + 0xFEE0) for c in "ALICE@example.com")
CYRILLIC_A = "\u0430lice@example.com"  # CYRILLIC SMALL LETTER A, then Latin "lice"
GREEK_O = "b\u03bfb@example.com"  # Latin b, GREEK SMALL LETTER OMICRON, Latin b


def assert_refused(response: httpx.Response, local_part: str, *words: str) -> None:
    """A 422 on the email field that says what is wrong and never shows the address."""
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    [field] = [f for f in error["fields"] if f["loc"][-1] == "email"]
    for word in words:
        assert word in field["message"]
    assert local_part not in response.text
    assert local_part.encode("ascii", "backslashreplace").decode() not in response.text


async def test_lookalike_registrations_give_one_account(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    assert (await register(client, ASCII)).status_code == 201

    fullwidth = await register(client, FULLWIDTH)
    cyrillic = await register(client, CYRILLIC_A)

    assert fullwidth.status_code == 409
    assert fullwidth.json()["error"]["code"] == "email_already_registered"
    assert_refused(cyrillic, "\u0430lice", "Cyrillic", "Latin")
    users, total = await kit.users.page()
    assert total == 1
    assert users[0].email == ASCII


async def test_a_fullwidth_registration_is_stored_in_the_ascii_form(
    client: httpx.AsyncClient,
) -> None:
    response = await register(client, ALL_FULLWIDTH)

    assert response.status_code == 201, response.text
    assert response.json()["email"] == ASCII
    assert (await register(client, ASCII)).status_code == 409


async def test_fullwidth_login_reaches_the_ascii_account(client: httpx.AsyncClient) -> None:
    user_id = (await register(client, ASCII)).json()["id"]

    by_json = await client.post(LOGIN, json={"email": ALL_FULLWIDTH, "password": PASSWORD})
    by_form = await client.post(LOGIN, data={"username": FULLWIDTH, "password": PASSWORD})

    for response in (by_json, by_form):
        assert response.status_code == 200, response.text
        me = await client.get(f"{USERS}/me", headers=bearer(response.json()["access_token"]))
        assert (me.json()["id"], me.json()["email"]) == (user_id, ASCII)


async def test_a_lookalike_login_is_answered_like_an_unknown_email(
    client: httpx.AsyncClient, kit: SaaSKit[User], monkeypatch: pytest.MonkeyPatch
) -> None:
    await register(client, ASCII)
    verified: list[str | None] = []
    verify = kit.passwords.verify

    async def spy(password: str, hashed: str | None) -> tuple[bool, str | None]:
        verified.append(hashed)
        return await verify(password, hashed)

    monkeypatch.setattr(kit.passwords, "verify", spy)

    lookalike = await client.post(LOGIN, json={"email": CYRILLIC_A, "password": PASSWORD})
    unknown = await client.post(LOGIN, json={"email": "nobody@example.com", "password": PASSWORD})

    assert lookalike.status_code == unknown.status_code == 401
    assert answer(lookalike) == answer(unknown)
    assert verified == [None, None]  # both paid the dummy verify: no account was found
    events, _ = await kit.audit.page(action=AuditAction.LOGIN)
    tried = sorted(str((e.detail or {}).get("email")) for e in events if e.outcome == "failure")
    assert tried == sorted([CYRILLIC_A, "nobody@example.com"])


async def test_an_existing_mixed_script_account_can_still_log_in(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    # Stored before mixed scripts were refused (the service itself does not refuse them).
    legacy = await kit.users.create(CYRILLIC_A, PASSWORD)

    tokens = await login(client, CYRILLIC_A)

    me = await client.get(f"{USERS}/me", headers=bearer(tokens["access_token"]))
    assert me.json()["id"] == legacy.id


async def test_email_requests_use_the_canonical_form(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    outbox = MemorySender()
    kit.mailer.sender = outbox
    await kit.users.create(ASCII, PASSWORD)
    answers = [
        await client.post(f"/api/v1/auth/{path}", json={"email": email})
        for path in ("forgot-password", "request-verify-email")
        for email in (ALL_FULLWIDTH, CYRILLIC_A)
    ]
    await kit.runner.drain()

    assert {r.status_code for r in answers} == {202}
    assert len({r.text for r in answers}) == 1
    assert [m.to for m in outbox.outbox] == [ASCII, ASCII]


@pytest.mark.parametrize(
    ("email", "local_part", "scripts"),
    [
        (CYRILLIC_A, "\u0430lice", ("Cyrillic", "Latin")),
        (GREEK_O, "b\u03bfb", ("Greek", "Latin")),
        ("\u0430\u03b1@example.com", "\u0430\u03b1", ("Cyrillic", "Greek")),
        ("paypal\u0969@example.com", "paypal\u0969", ("Devanagari", "Latin")),
    ],
)
async def test_mixed_script_local_parts_are_refused(
    client: httpx.AsyncClient,
    kit: SaaSKit[User],
    email: str,
    local_part: str,
    scripts: tuple[str, ...],
) -> None:
    response = await register(client, email)

    assert_refused(response, local_part, "scripts", *scripts)
    assert (await kit.users.page())[1] == 0


@pytest.mark.parametrize(
    "email",
    [
        "\u0430\u043b\u0438\u0441\u0430@example.com",  # алиса: Cyrillic only
        "\u03b5\u03bb\u03ad\u03bd\u03b7.1990@example.gr",  # ελένη.1990: Greek, digits, a dot
        "\u5c71\u7530\u305f\u308d\u3046@example.jp",  # 山田たろう: Han + Hiragana (Japanese)
        "yamada.\u592a\u90ce@example.jp",  # Latin + Han, as UTS #39 allows
        "o'brien-smith+news@example.com",
        "alice@\u0431\u0430\u043d\u043a.\u0440\u0444",  # Latin local part, Cyrillic domain
    ],
)
async def test_single_script_and_common_combinations_are_accepted(
    client: httpx.AsyncClient, email: str
) -> None:
    response = await register(client, email)

    assert response.status_code == 201, response.text
    assert response.json()["email"] == email
    await login(client, email)


@pytest.mark.parametrize(
    ("local_part", "accepted"),
    [
        ("a" * 64, True),
        ("a" * 65, False),
        ("\u00e9" * 32, True),  # 32 characters, 64 octets in UTF-8
        ("\u00e9" * 33, False),  # 33 characters, 66 octets
        ("\u0434" * 32, True),  # Cyrillic: 2 octets each
        ("\u0434" * 31 + "ab", False),  # Cyrillic and Latin, 64 octets: refused for mixing
        ("\u3042" * 21 + "a", True),  # 64 octets; Hiragana with Latin is allowed (Japanese)
        ("\u3042" * 22, False),  # 22 characters, 66 octets
        ("\uff41" * 64, True),  # 192 octets as typed, 64 after NFKC
    ],
)
async def test_the_local_part_is_at_most_64_octets_after_normalisation(
    client: httpx.AsyncClient, kit: SaaSKit[User], local_part: str, accepted: bool
) -> None:
    response = await register(client, local_part + "@example.com")

    if accepted:
        assert response.status_code == 201, response.text
        assert len(response.json()["email"].split("@")[0].encode()) <= 64
    else:
        assert response.status_code == 422
        assert local_part not in response.text
    assert (await kit.users.page())[1] == int(accepted)


async def test_the_length_refusal_says_what_is_wrong(client: httpx.AsyncClient) -> None:
    response = await register(client, "\u00e9" * 33 + "@example.com")

    assert_refused(response, "\u00e9" * 33, "64", "before the @-sign")


@pytest.fixture
async def admin(client: httpx.AsyncClient, kit: SaaSKit[User]) -> dict[str, str]:
    await kit.users.create("root@example.com", PASSWORD, is_superuser=True)
    return bearer((await login(client, "root@example.com"))["access_token"])


@pytest.mark.parametrize(
    ("email", "status", "code"),
    [
        (CYRILLIC_A, 422, "validation_error"),
        ("a" * 65 + "@example.com", 422, "validation_error"),
        (FULLWIDTH, 409, "email_already_registered"),
    ],
)
async def test_the_admin_update_applies_the_same_rules(
    client: httpx.AsyncClient,
    kit: SaaSKit[User],
    admin: dict[str, str],
    email: str,
    status: int,
    code: str,
) -> None:
    await kit.users.create(ASCII, PASSWORD)
    bob = await kit.users.create("bob@example.com", PASSWORD)

    response = await client.patch(f"{USERS}/{bob.id}", json={"email": email}, headers=admin)

    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    stored = await kit.users.get(bob.id)
    assert stored is not None
    assert stored.email == "bob@example.com"


async def test_the_admin_update_stores_the_canonical_form(
    client: httpx.AsyncClient, kit: SaaSKit[User], admin: dict[str, str]
) -> None:
    bob = await kit.users.create("bob@example.com", PASSWORD)

    response = await client.patch(
        f"{USERS}/{bob.id}", json={"email": "\uff42\uff4f\uff42@example.org"}, headers=admin
    )

    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["email"] == "bob@example.org"

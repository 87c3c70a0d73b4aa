"""The fastapi-users migration sketch of docs/faq.md (docs/snippets/faq/copy_users.py).

A fastapi-users-shaped database (UUID ids, mixed-case emails, a bcrypt hash as passlib made
them and an argon2 hash as pwdlib makes them) is copied into a migrated saaskit database,
and the copied users log in through the API with their old passwords.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import bcrypt
import httpx
import pytest
from fastapi import FastAPI
from pwdlib.hashers.argon2 import Argon2Hasher

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.migrations import packaged_config, upgrade
from tests.docs.helpers import DOCS, SNIPPETS, load_path

OLD_TABLE = """CREATE TABLE "user" (
    id CHAR(36) PRIMARY KEY, email VARCHAR(320) NOT NULL UNIQUE,
    hashed_password VARCHAR(1024) NOT NULL, is_active BOOLEAN NOT NULL,
    is_superuser BOOLEAN NOT NULL, is_verified BOOLEAN NOT NULL)"""
ALICE = "alice's old passphrase"
BOB = "bob's old passphrase"


@pytest.fixture
def snippet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    for name in ("SAASKIT_REDIS_URL", "SAASKIT_ENVIRONMENT", "SAASKIT_API_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    return load_path(SNIPPETS / "faq" / "copy_users.py", monkeypatch)


def old_database(path: Path, users: list[tuple[str, str, bool]]) -> str:
    """A fastapi-users database with ``(email, hash, is_superuser)`` users."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(OLD_TABLE)
        for email, hashed, superuser in users:
            db.execute(
                'INSERT INTO "user" VALUES (?, ?, ?, 1, ?, 1)',
                (str(uuid.uuid4()), email, hashed, superuser),
            )
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[SaaSKit[Any]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    await asyncio.to_thread(upgrade, packaged_config(url))
    settings = SaaSKitSettings(
        database_url=url, auth={"password_hasher": "argon2", "bcrypt_rounds": 4}
    )
    kit = SaaSKit(settings)
    yield kit
    await kit.aclose()


async def test_copied_users_log_in_with_their_old_passwords(
    snippet: ModuleType, kit: SaaSKit[Any], tmp_path: Path
) -> None:
    passlib_bcrypt = bcrypt.hashpw(ALICE.encode(), bcrypt.gensalt(rounds=4)).decode()
    pwdlib_argon2 = Argon2Hasher().hash(BOB)
    source = old_database(
        tmp_path / "old.db",
        [("alice@example.com", passlib_bcrypt, True), ("Bob@Example.com", pwdlib_argon2, False)],
    )
    new_ids = await snippet.copy_users(source, kit)
    assert sorted(new_ids.values()) == [1, 2]

    app = FastAPI()
    kit.install(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for email, password in (("alice@example.com", ALICE), ("bob@example.com", BOB)):
            login = await client.post(
                "/api/v1/auth/login", json={"email": email, "password": password}
            )
            assert login.status_code == 200, login.text
    alice = await kit.users.get_by_email("alice@example.com")
    assert alice is not None
    assert alice.is_superuser
    assert alice.hashed_password.startswith("$argon2")  # upgraded at login


async def test_bcrypt_hashes_verify_with_the_default_hasher(tmp_path: Path) -> None:
    kit = SaaSKit(SaaSKitSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"))
    try:
        passlib_bcrypt = bcrypt.hashpw(ALICE.encode(), bcrypt.gensalt(rounds=12)).decode()
        assert (await kit.passwords.verify(ALICE, passlib_bcrypt))[0]
        # fastapi-users 13+ hashes with argon2: saaskit needs the argon2 hasher for those.
        assert not (await kit.passwords.verify(BOB, Argon2Hasher().hash(BOB)))[0]
    finally:
        await kit.aclose()


async def test_emails_that_differ_only_in_case_stop_the_copy(
    snippet: ModuleType, kit: SaaSKit[Any], tmp_path: Path
) -> None:
    hashed = bcrypt.hashpw(ALICE.encode(), bcrypt.gensalt(rounds=4)).decode()
    source = old_database(
        tmp_path / "old.db",
        [("ada@example.com", hashed, False), ("Ada@example.com", hashed, False)],
    )
    with pytest.raises(ValueError, match=r"ada@example\.com"):
        await snippet.copy_users(source, kit)
    assert await kit.users.get_by_email("ada@example.com") is None


def test_the_faq_shows_the_tested_file() -> None:
    page = (DOCS / "faq.md").read_text("utf-8")
    assert "<!-- snippet: docs/snippets/faq/copy_users.py:copy -->" in page

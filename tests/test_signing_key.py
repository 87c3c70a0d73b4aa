"""No published key ever signs a token: without SAASKIT_SECRET_KEY, development uses a
random key kept in a git-ignored local file, shared by every process of the project."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import jwt
import pytest

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.settings import DEFAULT_SECRET_KEY
from saaskit.signing_key import signing_key
from tests.helpers import bearer, build_app, new_store, signed_up

GOOD_KEY = "x7Hq9sL2vN4pR8tW1yZ3bD5fG6jK0mQ2aE4uI8oP"


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("SAASKIT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_development_without_a_key_generates_one_kept_in_a_local_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="saaskit")

    first = signing_key(SaaSKitSettings())
    again = signing_key(SaaSKitSettings())

    stored = (tmp_path / ".saaskit" / "secret_key").read_text().strip()
    assert first == again == stored
    assert first != DEFAULT_SECRET_KEY
    assert len(first.encode()) >= 32
    assert (tmp_path / ".saaskit" / "secret_key").stat().st_mode & 0o077 == 0  # owner only
    warning = caplog.records[0].getMessage()
    assert caplog.records[0].levelno == logging.WARNING
    assert "SAASKIT_SECRET_KEY is not set" in warning
    assert ".saaskit/secret_key" in warning
    assert "saaskit secret" in warning


def test_each_project_directory_gets_its_own_random_key(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()

    one = signing_key(SaaSKitSettings(), tmp_path / "a")
    two = signing_key(SaaSKitSettings(), tmp_path / "b")

    assert one != two


def test_the_published_development_key_never_signs_a_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="saaskit")

    key = signing_key(SaaSKitSettings(secret_key=DEFAULT_SECRET_KEY))

    assert key != DEFAULT_SECRET_KEY
    assert "published development key" in caplog.text


async def test_a_token_signed_with_the_published_key_is_refused(database_url: str) -> None:
    settings = SaaSKitSettings(database_url=database_url, auth={"bcrypt_rounds": 4})
    kit = SaaSKit(settings, store=new_store())
    try:
        transport = httpx.ASGITransport(app=build_app(kit))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            mine = await signed_up(client)
            claims = jwt.decode(mine["access_token"], options={"verify_signature": False})
            # The same claims (this user, this live session), signed with the published key.
            forged = jwt.encode(claims, DEFAULT_SECRET_KEY, algorithm="HS256")
            real = await client.get("/api/v1/users/me", headers=bearer(mine["access_token"]))
            response = await client.get("/api/v1/users/me", headers=bearer(forged))
    finally:
        await kit.aclose()

    assert real.status_code == 200
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_a_configured_key_is_used_as_is_and_nothing_is_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="saaskit")

    assert signing_key(SaaSKitSettings(secret_key=GOOD_KEY)) == GOOD_KEY

    assert not (tmp_path / ".saaskit").exists()
    assert caplog.records == []


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_key_file_is_ignored_by_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)

    signing_key(SaaSKitSettings())

    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--ignored=no"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert ".saaskit" not in status


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    # `saaskit run --workers N`: each worker builds its kit at once; all must sign alike.
    script = (
        "from saaskit import SaaSKitSettings\n"
        "from saaskit.signing_key import signing_key\n"
        "print(signing_key(SaaSKitSettings()))\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script], cwd=tmp_path, stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    keys = {process.communicate()[0].strip() for process in processes}

    assert all(process.returncode == 0 for process in processes)
    assert keys == {(tmp_path / ".saaskit" / "secret_key").read_text().strip()}


def test_an_unwritable_directory_falls_back_to_a_key_for_this_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    caplog.set_level(logging.WARNING, logger="saaskit")

    one = signing_key(SaaSKitSettings(), not_a_directory)
    two = signing_key(SaaSKitSettings(), not_a_directory)

    assert one != two != DEFAULT_SECRET_KEY
    assert "for this process only" in caplog.text

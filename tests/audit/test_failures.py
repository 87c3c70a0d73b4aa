"""A failing audit write is logged and never breaks the request it describes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from saaskit import SaaSKit
from saaskit.db.engine import create_session_factory, single_statements
from saaskit.models import User
from tests.helpers import PASSWORD, bearer, login, register
from tests.ports import free_port


def unreachable_database() -> str:
    # Nothing listens on a free port: connecting fails at once. (Not an SQLite file in a
    # missing folder: aiosqlite's failed connect leaves a thread that can outlive the
    # test's event loop and fail the next test.)
    return f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none"


def point_audit_at(kit: SaaSKit[User], engine: AsyncEngine) -> None:
    """Make the audit log read and write through ``engine`` instead of the kit's."""
    kit.audit.session_factory = create_session_factory(engine)
    kit.audit.engine = single_statements(kit.audit.session_factory)


@pytest.fixture(params=["unreachable-database", "missing-table"])
async def broken_audit(
    kit: SaaSKit[User], tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[None]:
    """Point the audit log at a database it cannot write to."""
    if request.param == "unreachable-database":
        url = unreachable_database()
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/empty.db"  # created on connect, no tables
    engine = create_async_engine(url)
    point_audit_at(kit, engine)
    yield
    await engine.dispose()


@pytest.mark.usefixtures("broken_audit")
async def test_auth_flows_succeed_when_the_audit_log_cannot_be_written(
    client: httpx.AsyncClient, kit: SaaSKit[User], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="saaskit.audit")

    assert (await register(client)).status_code == 201
    failed = await client.post(
        "/api/v1/auth/login", json={"email": "alice@example.com", "password": "wrong password"}
    )
    tokens = await login(client)
    rotated = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    replayed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    again = await login(client)
    changed = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
        headers=bearer(again["access_token"]),
    )
    logout = await client.post("/api/v1/auth/logout", headers=bearer(again["access_token"]))

    assert failed.status_code == 401
    assert rotated.status_code == 200
    assert replayed.status_code == 401  # the reuse is still detected and the session ended
    assert changed.status_code == 204
    assert logout.status_code == 204
    failures = [r for r in caplog.records if r.getMessage().startswith("could not write audit")]
    actions = {r.getMessage().rsplit(" ", 1)[-1] for r in failures}
    expected = {"register", "login", "refresh_token_reuse", "password_change", "logout"}
    assert expected <= actions
    assert all(r.exc_info for r in failures)


@pytest.mark.usefixtures("broken_audit")
async def test_admin_actions_succeed_when_the_audit_log_cannot_be_written(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    await kit.users.create("root@example.com", PASSWORD, is_superuser=True)
    admin = bearer((await login(client, "root@example.com"))["access_token"])
    bob = await kit.users.create("bob@example.com", PASSWORD)

    deactivated = await client.patch(
        f"/api/v1/users/{bob.id}", json={"is_active": False}, headers=admin
    )
    deleted = await client.delete(f"/api/v1/users/{bob.id}", headers=admin)

    assert deactivated.status_code == 200
    assert deleted.status_code == 204
    assert await kit.users.get(bob.id) is None


async def test_record_swallows_errors_and_logs_them(
    kit: SaaSKit[User], caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_async_engine(unreachable_database())
    point_audit_at(kit, engine)
    try:
        await kit.audit.record("login", outcome="failure", detail={"email": "a@example.com"})
    finally:
        await engine.dispose()

    [record] = [r for r in caplog.records if r.name == "saaskit.audit"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "could not write audit event login"

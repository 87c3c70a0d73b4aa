"""What a login costs the database: three single statements, no transactions (PostgreSQL)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event

from saaskit import SaaSKit
from saaskit.models import User
from tests.databases import TEST_DATABASE_URL
from tests.helpers import login, register

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only (asyncpg)")


async def test_a_login_reads_the_user_and_writes_its_audit_event_without_transactions(
    kit: SaaSKit[User], client: httpx.AsyncClient
) -> None:
    assert (await register(client)).status_code == 201
    await kit.engine.dispose()  # new connections, so each gets the query logger
    sent: list[str] = []

    async def add_logger(connection: Any) -> None:
        connection.add_query_logger(lambda record: sent.append(record.query))

    @event.listens_for(kit.engine.sync_engine, "connect")
    def log_simple_queries(dbapi_connection: Any, _record: Any) -> None:
        # asyncpg logs what it sends outside prepared statements: BEGIN, COMMIT, ...
        dbapi_connection.run_async(add_logger)

    @event.listens_for(kit.engine.sync_engine, "before_cursor_execute")
    def log_statements(*args: Any) -> None:
        sent.append(args[2])

    await login(client)

    statements = [query for query in sent if query != "SELECT 1"]  # (pool checks)
    # The user's lookup, whether they have 2FA (saaskit.mfa, on by default), the audit
    # insert; no BEGIN / COMMIT / ROLLBACK round trips around them.
    assert [query.split()[0] for query in statements] == ["SELECT", "SELECT", "INSERT"], sent
    assert "FROM users" in statements[0]
    assert "mfa_totp_factors" in statements[1]
    assert "INTO audit_events" in statements[2]
    events = await kit.audit.page(user_id=1)
    assert [event.action for event in events[0]] == ["login", "register"]


async def test_a_user_read_by_email_is_detached_complete_and_can_be_changed(
    kit: SaaSKit[User], client: httpx.AsyncClient
) -> None:
    assert (await register(client)).status_code == 201

    user = await kit.users.get_by_email("ALICE@example.com")

    assert user is not None
    assert user.email == "alice@example.com"
    assert user.hashed_password.startswith("$2b$")
    assert user.created_at is not None
    async with kit.session_factory() as db:
        merged = await db.merge(user)
        merged.full_name = "Alice Liddell"
        await db.commit()
    reread = await kit.users.get(user.id)
    assert reread is not None
    assert reread.full_name == "Alice Liddell"

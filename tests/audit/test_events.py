"""Which audit events each security-relevant action writes: action, actor, target, IP,
user agent and outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.audit.models import AuditEventMixin
from saaskit.email import MemorySender
from saaskit.models import User
from tests.helpers import PASSWORD, bearer, build_app, login, register

CLIENT_IP = "198.51.100.23"
AGENT = "audit-test/1.0"


@pytest.fixture
async def client(kit: SaaSKit[User]) -> AsyncIterator[httpx.AsyncClient]:
    """Requests from a distinctive address and user agent."""
    transport = httpx.ASGITransport(
        app=build_app(kit), raise_app_exceptions=False, client=(CLIENT_IP, 4000)
    )
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"User-Agent": AGENT}
    ) as c:
        yield c


@pytest.fixture
def outbox(kit: SaaSKit[User]) -> MemorySender:
    sender = MemorySender()
    kit.mailer.sender = sender
    return sender


async def only(kit: SaaSKit[User], action: str) -> AuditEventMixin:
    events, total = await kit.audit.page(action=action)
    assert total == 1, [(e.action, e.outcome) for e in events]
    return events[0]


def assert_from_client(event: AuditEventMixin) -> None:
    assert event.ip == CLIENT_IP
    assert event.user_agent == AGENT


async def user_id(kit: SaaSKit[User], email: str = "alice@example.com") -> int:
    user = await kit.users.get_by_email(email)
    assert user is not None
    return user.id


async def test_register_is_audited(client: httpx.AsyncClient, kit: SaaSKit[User]) -> None:
    assert (await register(client)).status_code == 201

    event = await only(kit, "register")
    alice = await user_id(kit)
    assert (event.actor_id, event.target_id, event.outcome) == (alice, alice, "success")
    assert_from_client(event)
    assert event.created_at is not None


async def test_login_success_and_failure_are_audited(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    await register(client)
    await login(client)
    await client.post(
        "/api/v1/auth/login", json={"email": "Ghost@Example.com", "password": "nope-nope"}
    )

    events, total = await kit.audit.page(action="login")
    assert total == 2
    failure, success = events  # newest first
    alice = await user_id(kit)
    assert (success.actor_id, success.target_id, success.outcome) == (alice, alice, "success")
    assert (failure.actor_id, failure.target_id, failure.outcome) == (None, None, "failure")
    assert failure.detail == {"email": "ghost@example.com"}
    assert_from_client(success)
    assert_from_client(failure)
    assert "nope-nope" not in str(failure.detail)


async def test_logout_and_logout_all_are_audited(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    await register(client)
    one, two = await login(client), await login(client)
    await client.post("/api/v1/auth/logout", headers=bearer(one["access_token"]))
    await client.post("/api/v1/auth/logout-all", headers=bearer(two["access_token"]))

    alice = await user_id(kit)
    logout, logout_all = await only(kit, "logout"), await only(kit, "logout_all")
    assert (logout.actor_id, logout.target_id, logout.outcome) == (alice, alice, "success")
    assert (logout_all.actor_id, logout_all.target_id) == (alice, alice)
    assert logout_all.detail == {"sessions": 1}
    assert_from_client(logout)


async def test_refresh_token_reuse_is_audited_as_a_failure(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    await register(client)
    tokens = await login(client)
    for _ in range(2):
        await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})

    event = await only(kit, "refresh_token_reuse")
    assert (event.target_id, event.outcome) == (await user_id(kit), "failure")
    assert event.detail == {
        "session_id": kit.tokens.decode(tokens["access_token"], "access").session_id
    }
    assert_from_client(event)


async def test_password_change_is_audited(client: httpx.AsyncClient, kit: SaaSKit[User]) -> None:
    await register(client)
    tokens = await login(client)
    await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
        headers=bearer(tokens["access_token"]),
    )

    event = await only(kit, "password_change")
    alice = await user_id(kit)
    assert (event.actor_id, event.target_id, event.outcome) == (alice, alice, "success")
    assert_from_client(event)


async def test_password_reset_and_email_verification_are_audited(
    client: httpx.AsyncClient, kit: SaaSKit[User], outbox: MemorySender
) -> None:
    await register(client)
    await client.post("/api/v1/auth/forgot-password", json={"email": "alice@example.com"})
    await kit.runner.drain()
    for message in outbox.outbox:
        token = parse_qs(urlsplit(outbox.links(message)[0]).query)["token"][0]
        if "verify" in outbox.links(message)[0]:
            assert (
                await client.post("/api/v1/auth/verify-email", json={"token": token})
            ).is_success
        else:
            body = {"token": token, "password": "another long passphrase"}
            assert (await client.post("/api/v1/auth/reset-password", json=body)).is_success

    alice = await user_id(kit)
    for action in ("password_reset", "email_verified"):
        event = await only(kit, action)
        assert (event.actor_id, event.target_id, event.outcome) == (alice, alice, "success")
        assert_from_client(event)


async def test_superuser_update_deactivate_and_delete_are_audited_with_the_admin_as_actor(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    root = await kit.users.create("root@example.com", PASSWORD, is_superuser=True)
    admin = bearer((await login(client, "root@example.com"))["access_token"])
    bob = await kit.users.create("bob@example.com", PASSWORD)
    users = f"/api/v1/users/{bob.id}"

    assert (await client.patch(users, json={"full_name": "Bobby"}, headers=admin)).is_success
    assert (await client.patch(users, json={"is_active": False}, headers=admin)).is_success
    assert (await client.delete(users, headers=admin)).status_code == 204

    updated = await only(kit, "user_updated")
    deactivated = await only(kit, "user_deactivated")
    deleted = await only(kit, "user_deleted")
    for event in (updated, deactivated, deleted):
        assert (event.actor_id, event.target_id, event.outcome) == (root.id, bob.id, "success")
        assert_from_client(event)
    assert updated.detail == {"fields": ["full_name"]}
    assert deactivated.detail == {"fields": ["is_active"]}


async def test_admin_password_change_is_audited_without_the_hash(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    await kit.users.create("root@example.com", PASSWORD, is_superuser=True)
    admin = bearer((await login(client, "root@example.com"))["access_token"])
    bob = await kit.users.create("bob@example.com", PASSWORD)

    body = {"password": "admin chosen passphrase"}
    assert (await client.patch(f"/api/v1/users/{bob.id}", json=body, headers=admin)).is_success

    event = await only(kit, "user_updated")
    assert event.detail == {"fields": ["password"]}

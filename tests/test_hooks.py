"""Host hooks: each is called with the right arguments, and a failing hook is logged
without failing the request."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.auth.client import ClientInfo
from saaskit.email import MemorySender
from saaskit.hooks import Hooks
from saaskit.models import User
from tests.helpers import PASSWORD, bearer, login, register, signed_up

Calls = list[tuple[Any, ...]]


@pytest.fixture
def calls(kit: SaaSKit[User]) -> Calls:
    """Registers a recording hook for every event; returns what they saw."""
    seen: Calls = []
    hooks = kit.hooks

    @hooks.on_after_register
    async def registered(user: User, client: ClientInfo) -> None:
        seen.append(("register", user.email, client))

    @hooks.on_after_login
    async def logged_in(user: User, client: ClientInfo) -> None:
        seen.append(("login", user.email, client))

    @hooks.on_after_verify
    async def verified(user: User, client: ClientInfo) -> None:
        seen.append(("verify", user.email, user.is_verified))

    @hooks.on_after_forgot_password
    async def forgot(user: User, token: str, client: ClientInfo) -> None:
        seen.append(("forgot", user.email, token))

    @hooks.on_after_reset_password
    async def reset(user: User, client: ClientInfo) -> None:
        seen.append(("reset", user.email, client.ip))

    @hooks.on_after_update
    async def updated(user: User, changes: dict[str, Any], client: ClientInfo) -> None:
        seen.append(("update", user.full_name, dict(changes)))

    @hooks.on_after_delete
    async def deleted(user: User, client: ClientInfo) -> None:
        seen.append(("delete", user.email, user.id))

    return seen


def named(calls: Calls, name: str) -> list[tuple[Any, ...]]:
    return [call[1:] for call in calls if call[0] == name]


async def test_register_and_login_hooks_get_the_user_and_client(
    client: httpx.AsyncClient, calls: Calls
) -> None:
    await register(client)
    await client.post(
        "/api/v1/auth/login",
        json={"email": "alice@example.com", "password": PASSWORD},
        headers={"User-Agent": "hooks-test"},
    )
    await client.post(
        "/api/v1/auth/login", json={"email": "alice@example.com", "password": "wrong one"}
    )

    [(email, client_info)] = named(calls, "register")
    assert email == "alice@example.com"
    assert client_info.ip == "127.0.0.1"
    [(email, client_info)] = named(calls, "login")  # the failed login calls no hook
    assert email == "alice@example.com"
    assert client_info == ClientInfo(ip="127.0.0.1", user_agent="hooks-test")


async def test_forgot_reset_and_verify_hooks(
    client: httpx.AsyncClient, kit: SaaSKit[User], calls: Calls
) -> None:
    outbox = MemorySender()
    kit.mailer.sender = outbox
    await register(client)
    await client.post("/api/v1/auth/forgot-password", json={"email": "alice@example.com"})
    await client.post("/api/v1/auth/forgot-password", json={"email": "ghost@example.com"})
    await kit.runner.drain()

    [(email, token)] = named(calls, "forgot")
    assert email == "alice@example.com"
    reset = await client.post(
        "/api/v1/auth/reset-password", json={"token": token, "password": "another passphrase"}
    )
    assert reset.status_code == 204
    assert named(calls, "reset") == [("alice@example.com", "127.0.0.1")]

    verify_link = outbox.links(outbox.messages_to("alice@example.com")[0])[0]
    verify_token = parse_qs(urlsplit(verify_link).query)["token"][0]
    assert (await client.post("/api/v1/auth/verify-email", json={"token": verify_token})).is_success
    assert named(calls, "verify") == [("alice@example.com", True)]


async def test_update_and_delete_hooks_get_the_changes_and_the_deleted_user(
    client: httpx.AsyncClient, calls: Calls
) -> None:
    tokens = await signed_up(client)
    headers = bearer(tokens["access_token"])
    me = (await client.get("/api/v1/users/me", headers=headers)).json()

    await client.patch("/api/v1/users/me", json={"full_name": "Alice Liddell"}, headers=headers)
    await client.delete("/api/v1/users/me", headers=headers)

    assert named(calls, "update") == [("Alice Liddell", {"full_name": "Alice Liddell"})]
    assert named(calls, "delete") == [("alice@example.com", me["id"])]


async def test_a_failing_hook_is_logged_and_the_request_still_succeeds(
    client: httpx.AsyncClient, kit: SaaSKit[User], caplog: pytest.LogCaptureFixture
) -> None:
    later: list[str] = []

    @kit.hooks.on_after_register
    async def broken(user: User, client: ClientInfo) -> None:
        raise RuntimeError("hook exploded")

    @kit.hooks.on_after_register
    async def after_broken(user: User, client: ClientInfo) -> None:
        later.append(user.email)

    @kit.hooks.on_after_login
    async def broken_login(user: User, client: ClientInfo) -> None:
        raise ValueError("login hook exploded")

    caplog.set_level(logging.ERROR, logger="saaskit.hooks")

    registered = await register(client)
    tokens = await login(client)

    assert registered.status_code == 201
    assert tokens["access_token"]
    assert later == ["alice@example.com"]
    failures = [r for r in caplog.records if r.name == "saaskit.hooks"]
    assert len(failures) == 2
    assert all(r.exc_info for r in failures)
    assert "broken" in failures[0].getMessage()


async def test_a_feature_declared_event_runs_the_kits_listeners_then_the_hosts_hooks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from saaskit.hooks import HookEvent, Hooks

    invited: HookEvent[[int, str]] = HookEvent("member_invited")
    hooks: Hooks[User] = Hooks()
    with pytest.raises(ValueError, match="no hook event 'member_invited'"):
        hooks.on(invited)
    hooks.declare(invited)
    calls: list[str] = []

    async def kit_listener(user_id: int, email: str) -> None:
        calls.append(f"kit {user_id} {email}")

    @hooks.on(invited)
    async def host_hook(user_id: int, email: str) -> None:
        calls.append(f"host {user_id} {email}")

    @hooks.on(invited)
    async def failing(user_id: int, email: str) -> None:
        raise RuntimeError("boom")

    hooks.listen(invited, kit_listener)
    with caplog.at_level(logging.ERROR, logger="saaskit.hooks"):
        await hooks.fire(invited, 7, "bob@example.com")
        await hooks.fire(invited, 8, "eve@example.com")
    assert calls == [
        "kit 7 bob@example.com",
        "host 7 bob@example.com",
        "kit 8 eve@example.com",
        "host 8 eve@example.com",
    ]
    assert caplog.text.count("failing failed") == 2  # logged, the others still ran
    with pytest.raises(ValueError, match="one of saaskit's own"):
        hooks.declare(HookEvent("after_login"))


async def test_events_are_typed_and_kit_listeners_run_before_host_hooks() -> None:
    hooks: Hooks[User] = Hooks()
    order: list[str] = []
    user = User(email="alice@example.com", hashed_password="x")
    client = ClientInfo(ip="127.0.0.1", user_agent="t")

    async def kit_listener(user: User, client: ClientInfo) -> None:
        order.append("kit")

    @hooks.on_after_login
    async def host_hook(user: User, client: ClientInfo) -> None:
        order.append("host")

    hooks.listen("after_login", kit_listener)
    await hooks.emit_event("after_login", user, client)
    assert order == ["kit", "host"]

    # Wrong arguments are refused by mypy (each ignore would be reported unused
    # otherwise); at run time the failing hook is only logged.
    await hooks.emit_event("after_login", user, "not a client", client)  # type: ignore[call-overload]
    await hooks.emit_event("after_forgot_password", user, client)  # type: ignore[call-overload]
    await hooks.emit(hooks.after_login, user)  # type: ignore[arg-type]
    hooks.listen("after_update", kit_listener)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="no hook event"):
        hooks.listen("after_lunch", kit_listener)  # type: ignore[call-overload]

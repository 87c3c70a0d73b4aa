"""Account deletion: re-authenticated scheduling, restore within the grace, erasure after it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.apikeys.helpers import key_header, new_key
from tests.helpers import PASSWORD, login
from tests.privacy.helpers import PRIVACY, World, delete_account, link_param, signed_up

RESTORE = f"{PRIVACY}/deletion/restore"


async def _user_id(world: World, email: str) -> int:
    user = await world.kit.users.get_by_email(email)
    assert user is not None
    return int(user.id)


async def test_deleting_needs_the_current_password(world: World) -> None:
    headers = await signed_up(world.client, "alice@example.com")
    # A stolen access token, fresh from a login, is not enough without the password.
    missing = await world.client.post(f"{PRIVACY}/deletion", json={}, headers=headers)
    assert missing.status_code == 422
    wrong = await delete_account(world.client, headers, "not the password")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    assert (await world.client.get("/api/v1/users/me", headers=headers)).status_code == 200
    anonymous = await world.client.post(f"{PRIVACY}/deletion", json={"password": PASSWORD})
    assert anonymous.status_code == 401
    assert await world.privacy.deletions.active(await _user_id(world, "alice@example.com")) is None


async def test_an_api_key_cannot_delete_the_account(world: World) -> None:
    headers = await signed_up(world.client, "alice@example.com")
    await world.client.post(
        "/api/v1/auth/reauthenticate", json={"password": PASSWORD}, headers=headers
    )
    key = await new_key(world.client, headers, [])
    refused = await delete_account(world.client, key_header(key["key"]))
    assert refused.status_code == 401


async def test_deletion_deactivates_at_once_and_the_link_restores(world: World) -> None:
    client = world.client
    headers = await signed_up(client, "alice@example.com")
    await client.post("/api/v1/auth/reauthenticate", json={"password": PASSWORD}, headers=headers)
    key = await new_key(client, headers, [])
    other_session = await login(client, "alice@example.com")

    scheduled = await delete_account(client, headers)
    assert scheduled.status_code == 202, scheduled.text
    body = scheduled.json()
    assert body["status"] == "scheduled"
    assert body["erase_after"].startswith("2027-01-03")  # 30 days
    await world.drain()

    # Sessions, tokens and keys stop now.
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 401
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": other_session["refresh_token"]}
    )
    assert refresh.status_code == 401
    assert (await client.get("/api/v1/users/me", headers=key_header(key["key"]))).status_code == 401
    relogin = await client.post(
        "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert relogin.status_code == 401  # like a wrong password: no oracle
    assert relogin.json()["error"]["code"] == "invalid_credentials"

    token = link_param(world.sender, "alice@example.com", "token")
    world.clock.advance(days=29)
    restored = await client.post(RESTORE, json={"token": token})
    assert restored.status_code == 200, restored.text
    assert restored.json()["status"] == "restored"
    assert (await login(client, "alice@example.com"))["access_token"]
    reused = await client.post(RESTORE, json={"token": token})
    assert reused.status_code == 400
    assert reused.json()["error"]["code"] == "privacy_restore_invalid"

    # Nothing is erased: the sweep after the date finds nothing to do.
    world.clock.advance(days=2)
    assert (await world.privacy.sweep()).erased_users == []
    assert await world.kit.users.get_by_email("alice@example.com") is not None


async def test_a_guessed_restore_token_is_refused(world: World) -> None:
    headers = await signed_up(world.client, "alice@example.com")
    assert (await delete_account(world.client, headers)).status_code == 202
    guessed = await world.client.post(RESTORE, json={"token": "A" * 43})
    assert guessed.status_code == 400
    assert guessed.json()["error"]["code"] == "privacy_restore_invalid"


async def test_erasure_after_the_grace_period(world: World) -> None:
    kit, client = world.kit, world.client
    headers = await signed_up(client, "alice@example.com")
    bob = await signed_up(client, "bob@example.com")
    alice_id = await _user_id(world, "alice@example.com")
    # A failed login names the address; a superuser's action on Alice keeps its actor.
    await client.post(
        "/api/v1/auth/login", json={"email": "alice@example.com", "password": "x" * 9}
    )
    assert (await client.post(f"{PRIVACY}/exports", headers=headers)).status_code == 202
    await world.drain()
    assert list(world.storage.rglob("*.zip"))
    del bob
    bob_id = await _user_id(world, "bob@example.com")
    for user_id in (alice_id, bob_id):
        await kit.ai.record_usage(user_id, "gpt-test", 3, 2)  # a month's and a day's row each

    assert (await delete_account(client, headers)).status_code == 202
    await world.drain()
    token = link_param(world.sender, "alice@example.com", "token")

    world.clock.advance(days=29, hours=23)
    assert (await world.privacy.sweep()).erased_users == []
    assert world.hook.calls == []
    world.clock.advance(hours=1)
    result = await world.privacy.sweep()
    assert result.erased_users == [alice_id]
    assert result.failed_deletions == []

    assert await kit.users.get(alice_id) is None
    assert not list(world.storage.rglob("*.zip"))
    async with kit.session_factory() as db:
        for key in ("ai_usage", "ai_daily_usage"):  # Alice's AI usage went with her
            usage = kit.models.tables[key]
            assert list(await db.scalars(select(usage.user_id))) == [bob_id], key
    (call,) = world.hook.calls
    assert (call.user_id, call.email) == (alice_id, "alice@example.com")
    events = await _audit(world)
    assert events, "the trail keeps its facts"
    for event in events:
        assert alice_id not in (event.actor_id, event.target_id)
        assert "alice@example.com" not in str(event.detail)
        if event.actor_id is None:  # Alice's own (or anonymous) requests: no address left
            assert event.ip is None
            assert event.user_agent is None
    actions = [e.action for e in events]
    assert actions.count("register") == 2  # Alice's stays, without her
    assert "account_erased" in actions
    assert any(
        e.action == "login" and e.outcome == "failure" and e.detail == {"email": "[erased]"}
        for e in events
    )
    bob_events = [e for e in events if e.actor_id is not None]
    assert bob_events
    assert all(e.actor_id != alice_id for e in bob_events)

    (row,) = await world.privacy.deletions.page(status="erased")
    assert row.email is None
    assert row.steps == [
        "billing",
        "organizations",
        "hook:notes",
        "exports",
        "user",
        "audit",
    ]

    too_late = await client.post(RESTORE, json={"token": token})
    assert too_late.status_code == 410
    assert too_late.json()["error"]["code"] == "privacy_account_erased"
    assert (await world.privacy.sweep()).erased_users == []  # nothing twice
    assert len(world.hook.calls) == 1


async def test_restore_is_refused_once_the_date_passed_even_before_the_sweep(
    world: World,
) -> None:
    headers = await signed_up(world.client, "alice@example.com")
    assert (await delete_account(world.client, headers)).status_code == 202
    await world.drain()
    token = link_param(world.sender, "alice@example.com", "token")
    world.clock.advance(days=30, seconds=1)
    late = await world.client.post(RESTORE, json={"token": token})
    assert late.status_code == 410


async def _audit(world: World) -> list[Any]:
    model = world.kit.models.audit_event
    async with world.kit.session_factory() as db:
        return list(await db.scalars(select(model).order_by(model.id)))


async def test_restore_attempts_are_limited_per_address(world: World) -> None:
    for _ in range(10):
        guessed = await world.client.post(RESTORE, json={"token": "B" * 43})
        assert guessed.status_code == 400
    limited = await world.client.post(RESTORE, json={"token": "B" * 43})
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"

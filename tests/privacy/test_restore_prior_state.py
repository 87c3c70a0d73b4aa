"""A restore puts back the account's state before the deletion, never more.

A superuser who deactivates (bans) an account and then deletes it must not hand the
banned user a way back: no restore link is emailed, and a superuser's restore keeps the
account deactivated. A scheduling that failed halfway is completed by a retry, without a
second email and without forgetting the state before the first scheduling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from saaskit.privacy.erasure import utc
from tests.apikeys.helpers import key_header, new_key
from tests.helpers import PASSWORD, bearer, login
from tests.privacy.helpers import PRIVACY, World, self_deleted, signed_up, superuser

USERS = "/api/v1/users"
ME = f"{USERS}/me"
ADMIN = f"{PRIVACY}/admin"


async def _user_id(world: World, email: str) -> int:
    user = await world.kit.users.get_by_email(email)
    assert user is not None
    return int(user.id)


async def _is_active(world: World, user_id: int) -> bool:
    user = await world.kit.users.get(user_id)
    assert user is not None
    return bool(user.is_active)


async def _login_status(client: httpx.AsyncClient, email: str) -> int:
    answer = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    return answer.status_code


async def _banned_alice(world: World, admin: dict[str, str]) -> int:
    """Alice, signed up, then deactivated by a superuser."""
    await signed_up(world.client, "alice@example.com")
    alice_id = await _user_id(world, "alice@example.com")
    banned = await world.client.patch(
        f"{USERS}/{alice_id}", json={"is_active": False}, headers=admin
    )
    assert banned.status_code == 200, banned.text
    assert await _login_status(world.client, "alice@example.com") == 401
    return alice_id


async def _restored_stays_banned(world: World, admin: dict[str, str], alice_id: int) -> None:
    restored = await world.client.post(f"{ADMIN}/users/{alice_id}/restore", headers=admin)
    assert restored.status_code == 200, restored.text
    assert restored.json()["status"] == "restored"
    assert not await _is_active(world, alice_id)
    assert await _login_status(world.client, "alice@example.com") == 401
    # A superuser lifts the ban explicitly, if they mean to.
    lifted = await world.client.patch(
        f"{USERS}/{alice_id}", json={"is_active": True}, headers=admin
    )
    assert lifted.status_code == 200
    assert await _login_status(world.client, "alice@example.com") == 200


async def test_deleting_a_banned_account_sends_no_link_and_a_restore_keeps_it_banned(
    world: World,
) -> None:
    admin = await superuser(world)
    alice_id = await _banned_alice(world, admin)
    await world.drain()
    mails = len(world.sender.messages_to("alice@example.com"))

    deleted = await world.client.delete(f"{USERS}/{alice_id}", headers=admin)
    assert deleted.status_code == 204, deleted.text
    await world.drain()
    assert len(world.sender.messages_to("alice@example.com")) == mails  # no restore link
    deletion = await world.privacy.deletions.active(alice_id)
    assert deletion is not None
    assert deletion.restore_token_hash is None
    assert deletion.was_active is False

    await _restored_stays_banned(world, admin, alice_id)


async def test_the_privacy_admin_route_on_a_banned_account_too(world: World) -> None:
    admin = await superuser(world)
    alice_id = await _banned_alice(world, admin)
    await world.drain()
    mails = len(world.sender.messages_to("alice@example.com"))

    scheduled = await world.client.post(f"{ADMIN}/users/{alice_id}/deletion", headers=admin)
    assert scheduled.status_code == 202, scheduled.text
    await world.drain()
    assert len(world.sender.messages_to("alice@example.com")) == mails

    await _restored_stays_banned(world, admin, alice_id)


async def test_a_retry_completes_a_half_failed_scheduling(world: World) -> None:
    client = world.client
    await signed_up(client, "alice@example.com")
    alice_id = await _user_id(world, "alice@example.com")
    # The half-failed state: the deletion row is written (and its link sent), but the
    # account is still active and has a live API key (the rest failed: store down, ...).
    first = await world.privacy.deletions.schedule(alice_id, actor_id=alice_id)
    await world.drain()
    mails = len(world.sender.messages_to("alice@example.com"))
    await world.kit.users.update(alice_id, {"is_active": True})
    headers = bearer((await login(client, "alice@example.com"))["access_token"])
    key = await new_key(client, headers, [])
    assert (await client.get(ME, headers=key_header(key["key"]))).status_code == 200

    retried = await client.delete(ME, headers=headers)
    assert retried.status_code == 204, retried.text
    await world.drain()

    assert not await _is_active(world, alice_id)
    assert (await client.get(ME, headers=headers)).status_code == 401
    assert (await client.get(ME, headers=key_header(key["key"]))).status_code == 401
    assert await world.kit.api_keys.list_keys(user_id=alice_id) == []
    assert len(world.sender.messages_to("alice@example.com")) == mails  # no second link
    (only,) = await world.privacy.deletions.page(status="scheduled")
    assert (only.id, only.was_active) == (first.id, True)  # the same deletion, same state
    assert utc(only.erase_after) == utc(first.erase_after)  # and the same date


async def test_a_repeated_deletion_keeps_the_state_before_the_first(world: World) -> None:
    admin = await superuser(world)
    alice_id = await _banned_alice(world, admin)
    assert (await world.client.delete(f"{USERS}/{alice_id}", headers=admin)).status_code == 204
    # Re-activated meanwhile (by hand, or a half-failed state), then deleted again.
    await world.kit.users.update(alice_id, {"is_active": True})
    await world.drain()
    mails = len(world.sender.messages_to("alice@example.com"))
    again = await world.client.post(f"{ADMIN}/users/{alice_id}/deletion", headers=admin)
    assert again.status_code == 202
    await world.drain()
    assert not await _is_active(world, alice_id)
    assert len(world.sender.messages_to("alice@example.com")) == mails
    deletion = await world.privacy.deletions.active(alice_id)
    assert deletion is not None
    assert deletion.was_active is False  # the state before the first scheduling

    await _restored_stays_banned(world, admin, alice_id)


async def test_a_ban_during_the_grace_period_holds_against_the_users_link(world: World) -> None:
    admin = await superuser(world)
    alice_id, token = await self_deleted(world)

    # A superuser bans the account while its deletion waits: the link must not undo it.
    banned = await world.client.patch(
        f"{USERS}/{alice_id}", json={"is_active": False}, headers=admin
    )
    assert banned.status_code == 200, banned.text
    refused = await world.client.post(f"{PRIVACY}/deletion/restore", json={"token": token})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "privacy_restore_invalid"
    assert not await _is_active(world, alice_id)

    await _restored_stays_banned(world, admin, alice_id)


async def test_a_superusers_delete_after_the_users_own_stops_the_users_link(
    world: World,
) -> None:
    admin = await superuser(world)
    alice_id, token = await self_deleted(world)

    deleted = await world.client.delete(f"{USERS}/{alice_id}", headers=admin)
    assert deleted.status_code == 204, deleted.text
    refused = await world.client.post(f"{PRIVACY}/deletion/restore", json={"token": token})
    assert refused.status_code == 400
    assert not await _is_active(world, alice_id)

    # Not a ban: a superuser's restore makes the account active again, as it was.
    restored = await world.client.post(f"{ADMIN}/users/{alice_id}/restore", headers=admin)
    assert restored.status_code == 200, restored.text
    assert await _login_status(world.client, "alice@example.com") == 200


class _Outage(Exception):
    """The database failing one statement (injected)."""


def _fail_user_activation(world: World) -> Callable[[], None]:
    """Fail the statement that makes a user active again; returns the undo."""

    def before(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE USERS") and "is_active" in statement:
            values = params.values() if isinstance(params, dict) else params
            if True in tuple(values) or 1 in tuple(values):
                raise _Outage("the database went away")

    engine = world.kit.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    return lambda: event.remove(engine, "before_cursor_execute", before)


async def test_a_restore_that_fails_halfway_leaves_the_deletion_and_its_link(
    world: World,
) -> None:
    alice_id, token = await self_deleted(world)

    undo = _fail_user_activation(world)
    try:
        with pytest.raises(_Outage):
            await world.privacy.deletions.restore_with_token(token)
    finally:
        undo()

    # Not a restored deletion on a deactivated account: the deletion waits, the link works.
    assert not await _is_active(world, alice_id)
    deletion = await world.privacy.deletions.active(alice_id)
    assert deletion is not None
    assert deletion.status == "scheduled"
    restored = await world.client.post(f"{PRIVACY}/deletion/restore", json={"token": token})
    assert restored.status_code == 200, restored.text
    assert await _login_status(world.client, "alice@example.com") == 200


async def test_a_scheduling_that_fails_after_its_row_leaves_the_account_deactivated(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await signed_up(world.client, "alice@example.com")
    alice_id = await _user_id(world, "alice@example.com")
    deletions = world.privacy.deletions

    async def outage(*_: Any, **__: Any) -> Any:
        raise _Outage("the store went away")

    # What runs after the scheduling's transaction (sessions, cache, keys) fails.
    monkeypatch.setattr(deletions.users, "update", outage)
    with pytest.raises(_Outage):
        await deletions.schedule(alice_id, actor_id=alice_id)
    monkeypatch.undo()

    assert await deletions.active(alice_id) is not None
    await world.kit.users.invalidate(alice_id)
    assert not await _is_active(world, alice_id)  # never a scheduled, active account
    assert await _login_status(world.client, "alice@example.com") == 401

"""Superusers list, schedule and restore account deletions; nobody else can."""

from __future__ import annotations

from tests.helpers import login
from tests.privacy.helpers import PRIVACY, World, signed_up, superuser

ADMIN = f"{PRIVACY}/admin"


async def test_superusers_schedule_list_and_restore_deletions(world: World) -> None:
    admin = await superuser(world)
    alice = await signed_up(world.client, "alice@example.com")
    user = await world.kit.users.get_by_email("alice@example.com")
    assert user is not None

    scheduled = await world.client.post(f"{ADMIN}/users/{user.id}/deletion", headers=admin)
    assert scheduled.status_code == 202, scheduled.text
    assert scheduled.json()["requested_by"] != user.id
    assert (await world.client.get("/api/v1/users/me", headers=alice)).status_code == 401
    again = await world.client.post(f"{ADMIN}/users/{user.id}/deletion", headers=admin)
    assert again.json()["erase_after"] == scheduled.json()["erase_after"]  # same deletion

    listed = await world.client.get(f"{ADMIN}/deletions", headers=admin)
    assert [d["user_id"] for d in listed.json()] == [user.id]

    restored = await world.client.post(f"{ADMIN}/users/{user.id}/restore", headers=admin)
    assert restored.status_code == 200
    assert restored.json()["status"] == "restored"
    assert (await world.client.get(f"{ADMIN}/deletions", headers=admin)).json() == []
    assert (await login(world.client, "alice@example.com"))["access_token"]
    twice = await world.client.post(f"{ADMIN}/users/{user.id}/restore", headers=admin)
    assert twice.status_code == 404
    assert twice.json()["error"]["code"] == "privacy_deletion_not_found"
    unknown = await world.client.post(f"{ADMIN}/users/999/deletion", headers=admin)
    assert unknown.status_code == 404


async def test_superusers_cannot_restore_an_erased_account(world: World) -> None:
    admin = await superuser(world)
    await signed_up(world.client, "alice@example.com")
    user = await world.kit.users.get_by_email("alice@example.com")
    assert user is not None
    await world.client.post(f"{ADMIN}/users/{user.id}/deletion", headers=admin)
    world.clock.advance(days=31)
    assert (await world.privacy.sweep()).erased_users == [user.id]
    late = await world.client.post(f"{ADMIN}/users/{user.id}/restore", headers=admin)
    assert late.status_code == 410
    erased = await world.client.get(f"{ADMIN}/deletions?status=erased", headers=admin)
    assert erased.json()[0]["steps"][-1] == "audit"


async def test_other_users_get_403(world: World) -> None:
    mallory = await signed_up(world.client, "mallory@example.com")
    await signed_up(world.client, "alice@example.com")
    for method, url in (
        ("GET", f"{ADMIN}/deletions"),
        ("POST", f"{ADMIN}/users/2/deletion"),
        ("POST", f"{ADMIN}/users/2/restore"),
    ):
        refused = await world.client.request(method, url, headers=mallory)
        assert refused.status_code == 403
    assert (await world.client.get(f"{ADMIN}/deletions")).status_code == 401

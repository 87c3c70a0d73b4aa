"""With privacy on, every way to delete an account schedules it: none deletes at once.

``DELETE /users/me`` and a superuser's ``DELETE /users/{id}`` predate the privacy
feature; they take the same path as ``POST /privacy/deletion`` (deactivated now, a
restore link, erased after the grace period, with every erasure step).
"""

from __future__ import annotations

from sqlalchemy import select

from tests.helpers import PASSWORD, bearer, login
from tests.privacy.helpers import PRIVACY, World, delete_account, invite, link_param, signed_up

ME = "/api/v1/users/me"


async def _user_id(world: World, email: str) -> int:
    user = await world.kit.users.get_by_email(email)
    assert user is not None
    return int(user.id)


async def _actions(world: World, target_id: int) -> list[str]:
    model = world.kit.models.audit_event
    async with world.kit.session_factory() as db:
        rows = await db.scalars(
            select(model.action).where(model.target_id == target_id).order_by(model.id)
        )
        return list(rows)


async def test_delete_me_schedules_and_the_link_restores(world: World) -> None:
    client = world.client
    headers = await signed_up(client, "alice@example.com")
    alice_id = await _user_id(world, "alice@example.com")

    deleted = await client.delete(ME, headers=headers)
    assert deleted.status_code == 204, deleted.text
    await world.drain()

    # Deactivated now, but kept: the row is there, the deletion waits for its date.
    assert (await client.get(ME, headers=headers)).status_code == 401
    user = await world.kit.users.get(alice_id)
    assert user is not None
    assert not user.is_active
    deletion = await world.privacy.deletions.active(alice_id)
    assert deletion is not None
    assert deletion.status == "scheduled"
    assert deletion.requested_by == alice_id
    actions = await _actions(world, alice_id)
    assert "account_deletion_scheduled" in actions
    assert "user_deleted" not in actions

    token = link_param(world.sender, "alice@example.com", "token")
    restored = await client.post(f"{PRIVACY}/deletion/restore", json={"token": token})
    assert restored.status_code == 200, restored.text
    assert (await login(client, "alice@example.com"))["access_token"]


async def test_delete_me_is_erased_after_the_grace_period_with_every_step(world: World) -> None:
    headers = await signed_up(world.client, "alice@example.com")
    alice_id = await _user_id(world, "alice@example.com")
    assert (await world.client.delete(ME, headers=headers)).status_code == 204

    world.clock.advance(days=29)
    assert (await world.privacy.sweep()).erased_users == []
    world.clock.advance(days=1, seconds=1)
    assert (await world.privacy.sweep()).erased_users == [alice_id]
    assert await world.kit.users.get(alice_id) is None
    (row,) = await world.privacy.deletions.page(status="erased")
    assert "hook:notes" in row.steps
    assert row.steps[-1] == "audit"
    (call,) = world.hook.calls  # the host's hook ran, as for POST /privacy/deletion
    assert call.user_id == alice_id


async def test_a_superusers_delete_schedules_too(world: World) -> None:
    await world.kit.users.create("root@example.com", PASSWORD, is_superuser=True)
    admin = bearer((await login(world.client, "root@example.com"))["access_token"])
    root_id = await _user_id(world, "root@example.com")
    alice = await signed_up(world.client, "alice@example.com")
    alice_id = await _user_id(world, "alice@example.com")
    await world.drain()
    before = len(world.sender.messages_to("alice@example.com"))

    deleted = await world.client.delete(f"/api/v1/users/{alice_id}", headers=admin)
    assert deleted.status_code == 204, deleted.text
    await world.drain()
    # A superuser's deletion (moderation) emails the user no restore link.
    assert len(world.sender.messages_to("alice@example.com")) == before
    assert (await world.client.get(ME, headers=alice)).status_code == 401
    deletion = await world.privacy.deletions.active(alice_id)
    assert deletion is not None
    assert deletion.requested_by == root_id
    listed = await world.client.get(f"{PRIVACY}/admin/deletions", headers=admin)
    assert [d["user_id"] for d in listed.json()] == [alice_id]

    # A second delete keeps the first date; an unknown id is still a 404.
    again = await world.client.delete(f"/api/v1/users/{alice_id}", headers=admin)
    assert again.status_code == 204
    (only,) = await world.privacy.deletions.page(status="scheduled")
    assert only.erase_after == deletion.erase_after
    unknown = await world.client.delete("/api/v1/users/99999", headers=admin)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "user_not_found"

    restored = await world.client.post(f"{PRIVACY}/admin/users/{alice_id}/restore", headers=admin)
    assert restored.status_code == 200
    assert (await login(world.client, "alice@example.com"))["access_token"]


async def test_erasure_removes_invitations_sent_to_the_persons_address(world: World) -> None:
    client = world.client
    bob = await signed_up(client, "bob@example.com")
    alice = await signed_up(client, "alice@example.com")
    await invite(client, bob, "Acme", ["Alice@Example.com", "carol@example.com"])
    assert (await delete_account(client, alice)).status_code == 202
    await world.drain()

    world.clock.advance(days=31)
    assert (await world.privacy.sweep()).erased_users

    invitation = world.kit.models.tables["invitation"]
    async with world.kit.session_factory() as db:
        left = list(await db.scalars(select(invitation.email)))
    assert left == ["carol@example.com"]  # someone else's invitation stays

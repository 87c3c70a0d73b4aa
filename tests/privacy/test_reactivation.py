"""Re-activating an account during its grace period cancels the deletion.

Support undoing a deletion the obvious way (``PATCH /users/{id}`` ``{"is_active": true}``,
or the console's Activate) must not leave the erasure scheduled: the user would use the
account for weeks, then lose it, its organizations and its Stripe customer at the sweep.
"""

from __future__ import annotations

from tests.helpers import PASSWORD
from tests.privacy.helpers import PRIVACY, World, self_deleted, signed_up, superuser

USERS = "/api/v1/users"


async def test_reactivating_during_the_grace_period_cancels_the_erasure(world: World) -> None:
    admin = await superuser(world)
    alice_id, token = await self_deleted(world)

    reactivated = await world.client.patch(
        f"{USERS}/{alice_id}", json={"is_active": True}, headers=admin
    )
    assert reactivated.status_code == 200, reactivated.text
    assert await world.privacy.deletions.active(alice_id) is None
    login_answer = await world.client.post(
        "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert login_answer.status_code == 200

    world.clock.advance(days=31)
    result = await world.privacy.sweep()
    assert alice_id not in result.erased_users
    assert await world.kit.users.get(alice_id) is not None
    # The link is spent with the deletion, and the cancellation is in the audit trail.
    spent = await world.client.post(f"{PRIVACY}/deletion/restore", json={"token": token})
    assert spent.status_code == 400
    events, _ = await world.kit.audit.page(user_id=alice_id, action="account_deletion_restored")
    assert [(event.detail or {}).get("by") for event in events] == ["reactivation"]


async def test_reactivating_after_the_grace_period_is_refused_and_changes_nothing(
    world: World,
) -> None:
    admin = await superuser(world)
    alice_id, _ = await self_deleted(world)
    world.clock.advance(days=31)  # the date passed; the sweep has not run yet

    refused = await world.client.patch(
        f"{USERS}/{alice_id}", json={"is_active": True}, headers=admin
    )
    assert refused.status_code == 410
    assert refused.json()["error"]["code"] == "privacy_account_erased"
    user = await world.kit.users.get(alice_id)
    assert user is not None
    assert not user.is_active
    result = await world.privacy.sweep()
    assert alice_id in result.erased_users


async def test_a_reactivation_without_a_deletion_is_a_plain_update(world: World) -> None:
    admin = await superuser(world)
    await signed_up(world.client, "bob@example.com")
    bob = await world.kit.users.get_by_email("bob@example.com")
    assert bob is not None
    for active in (False, True):
        answer = await world.client.patch(
            f"{USERS}/{bob.id}", json={"is_active": active}, headers=admin
        )
        assert answer.status_code == 200, answer.text
    events, _ = await world.kit.audit.page(user_id=bob.id, action="account_deletion_restored")
    assert events == []

"""Organizations through the HTTP API: create, members, roles, invitations, audit."""

from __future__ import annotations

from typing import Any

import httpx

from saaskit import SaaSKit
from tests.helpers import answer
from tests.orgs.helpers import ORGS, invitation_token, join, new_org, user_id, verified


async def test_create_list_get_rename_and_the_creator_is_owner(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice, "Acme Inc")
    got = await client.get(f"{ORGS}/{org}", headers=alice)
    assert got.status_code == 200
    assert got.json()["role"] == "owner"
    assert got.json()["slug"].startswith("acme-inc-")
    renamed = await client.patch(f"{ORGS}/{org}", json={"name": "Acme"}, headers=alice)
    assert renamed.json()["name"] == "Acme"
    mine = (await client.get(ORGS, headers=alice)).json()
    assert mine["total"] == 1
    assert [o["name"] for o in mine["items"]] == ["Acme"]


async def test_a_name_with_control_characters_is_a_422_not_a_database_error(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    # PostgreSQL refuses NUL in text: found by the fuzz test as a 500.
    alice = await verified(kit, client, "alice@example.com")
    for name in ["\u0000", "Acme\u0000Inc", "Acme\nInc"]:
        created = await client.post(ORGS, json={"name": name}, headers=alice)
        assert created.status_code == 422, name
        assert created.json()["error"]["code"] == "validation_error"
    org = await new_org(client, alice, "Acme")
    renamed = await client.patch(f"{ORGS}/{org}", json={"name": "\u0000"}, headers=alice)
    assert renamed.status_code == 422
    assert (await client.get(ORGS, headers=alice)).json()["total"] == 1


async def test_slug_is_unique(kit: SaaSKit[Any], client: httpx.AsyncClient) -> None:
    alice = await verified(kit, client, "alice@example.com")
    body = {"name": "A", "slug": "acme"}
    assert (await client.post(ORGS, json=body, headers=alice)).status_code == 201
    taken = await client.post(ORGS, json=body, headers=alice)
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "organization_slug_taken"


async def test_a_non_member_gets_404_like_a_missing_organization_and_a_member_403(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    """IDOR: another organization's id answers exactly like an id that does not exist."""
    alice = await verified(kit, client, "alice@example.com")
    mallory = await verified(kit, client, "mallory@example.com")
    org = await new_org(client, alice)
    for method, tail in [
        ("GET", ""),
        ("GET", "/members"),
        ("GET", "/audit"),
        ("GET", "/invitations"),
        ("DELETE", ""),
        ("PATCH", "/members/1"),
    ]:
        body = {"role": "member"} if method == "PATCH" else None
        theirs = await client.request(method, f"{ORGS}/{org}{tail}", json=body, headers=mallory)
        missing = await client.request(method, f"{ORGS}/999999{tail}", json=body, headers=mallory)
        assert theirs.status_code == 404, tail
        assert answer(theirs) == answer(missing)
    bob = await join(kit, client, org, alice, "bob@example.com")
    assert (await client.get(f"{ORGS}/{org}/members", headers=bob)).status_code == 200
    denied = await client.get(f"{ORGS}/{org}/audit", headers=bob)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "organization_permission_denied"
    assert (await client.delete(f"{ORGS}/{org}", headers=bob)).status_code == 403


async def test_invite_accept_and_the_invitation_works_once(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    invited = await client.post(
        f"{ORGS}/{org}/invitations", json={"email": "Bob@Example.com"}, headers=alice
    )
    assert invited.status_code == 201
    assert "token" not in invited.json()
    await kit.runner.drain()
    token = invitation_token(kit, "bob@example.com")
    pending = (await client.get(f"{ORGS}/{org}/invitations", headers=alice)).json()
    assert [i["email"] for i in pending["items"]] == ["bob@example.com"]

    bob = await verified(kit, client, "bob@example.com")
    accepted = await client.post(f"{ORGS}/invitations/accept", json={"token": token}, headers=bob)
    assert accepted.status_code == 200
    assert accepted.json()["role"] == "member"
    replay = await client.post(f"{ORGS}/invitations/accept", json={"token": token}, headers=bob)
    assert replay.status_code == 404
    assert replay.json()["error"]["code"] == "invitation_invalid"
    members = (await client.get(f"{ORGS}/{org}/members", headers=bob)).json()
    assert {m["email"]: m["role"] for m in members["items"]} == {
        "alice@example.com": "owner",
        "bob@example.com": "member",
    }
    assert (await client.get(f"{ORGS}/{org}/invitations", headers=alice)).json()["total"] == 0


async def test_an_invitation_is_refused_to_another_or_an_unverified_email(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    await client.post(f"{ORGS}/{org}/invitations", json={"email": "bob@example.com"}, headers=alice)
    await kit.runner.drain()
    token = invitation_token(kit, "bob@example.com")
    mallory = await verified(kit, client, "mallory@example.com")
    stolen = await client.post(f"{ORGS}/invitations/accept", json={"token": token}, headers=mallory)
    assert stolen.status_code == 403
    assert stolen.json()["error"]["code"] == "invitation_email_mismatch"
    # An unverified account of the invited address cannot accept either.
    from tests.helpers import bearer, signed_up

    bob = bearer((await signed_up(client, "bob@example.com"))["access_token"])
    unverified = await client.post(f"{ORGS}/invitations/accept", json={"token": token}, headers=bob)
    assert unverified.status_code == 403
    # A made-up token looks like a used one.
    made_up = await client.post(
        f"{ORGS}/invitations/accept", json={"token": "x" * 43}, headers=mallory
    )
    assert made_up.status_code == 404
    assert made_up.json()["error"]["code"] == "invitation_invalid"


async def test_revoked_and_resent_invitations_stop_the_old_link(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    invited = await client.post(
        f"{ORGS}/{org}/invitations", json={"email": "bob@example.com"}, headers=alice
    )
    inv = invited.json()["id"]
    await kit.runner.drain()
    first = invitation_token(kit, "bob@example.com")
    resent = await client.post(f"{ORGS}/{org}/invitations/{inv}/resend", headers=alice)
    assert resent.status_code == 200
    await kit.runner.drain()
    second = invitation_token(kit, "bob@example.com")
    assert first != second
    bob = await verified(kit, client, "bob@example.com")
    old = await client.post(f"{ORGS}/invitations/accept", json={"token": first}, headers=bob)
    assert old.status_code == 404
    assert (
        await client.delete(f"{ORGS}/{org}/invitations/{inv}", headers=alice)
    ).status_code == 204
    revoked = await client.post(f"{ORGS}/invitations/accept", json={"token": second}, headers=bob)
    assert revoked.status_code == 404


async def test_an_admin_cannot_grant_owner_nor_touch_an_owner(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    """Privilege escalation: an admin makes nobody owner, by role change or invitation."""
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    admin = await join(kit, client, org, alice, "admin@example.com", "admin")
    await join(kit, client, org, alice, "bob@example.com")
    bob_id = await user_id(kit, "bob@example.com")
    alice_id = await user_id(kit, "alice@example.com")
    admin_id = await user_id(kit, "admin@example.com")
    for target in (bob_id, admin_id):
        grant = await client.patch(
            f"{ORGS}/{org}/members/{target}", json={"role": "owner"}, headers=admin
        )
        assert grant.status_code == 403
    demote = await client.patch(
        f"{ORGS}/{org}/members/{alice_id}", json={"role": "member"}, headers=admin
    )
    assert demote.status_code == 403
    assert (
        await client.delete(f"{ORGS}/{org}/members/{alice_id}", headers=admin)
    ).status_code == 403
    invite_owner = await client.post(
        f"{ORGS}/{org}/invitations", json={"email": "x@example.com", "role": "owner"}, headers=admin
    )
    assert invite_owner.status_code == 403
    # what an admin may do: make a member admin, remove a member
    promote = await client.patch(
        f"{ORGS}/{org}/members/{bob_id}", json={"role": "admin"}, headers=admin
    )
    assert promote.status_code == 204
    unknown = await client.patch(
        f"{ORGS}/{org}/members/{bob_id}", json={"role": "god"}, headers=alice
    )
    assert unknown.status_code == 422


async def test_the_last_owner_cannot_leave_be_removed_or_demoted(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    alice_id = await user_id(kit, "alice@example.com")
    left = await client.post(f"{ORGS}/{org}/leave", headers=alice)
    assert left.status_code == 409
    assert left.json()["error"]["code"] == "organization_last_owner"
    demoted = await client.patch(
        f"{ORGS}/{org}/members/{alice_id}", json={"role": "admin"}, headers=alice
    )
    assert demoted.status_code == 409
    removed = await client.delete(f"{ORGS}/{org}/members/{alice_id}", headers=alice)
    assert removed.status_code == 409
    # with a second owner (transfer), the first may leave
    await join(kit, client, org, alice, "bob@example.com")
    bob_id = await user_id(kit, "bob@example.com")
    moved = await client.post(f"{ORGS}/{org}/transfer", json={"user_id": bob_id}, headers=alice)
    assert moved.status_code == 204
    assert (await client.get(f"{ORGS}/{org}", headers=alice)).json()["role"] == "admin"
    assert (await client.post(f"{ORGS}/{org}/leave", headers=alice)).status_code == 204
    assert (await client.get(f"{ORGS}/{org}", headers=alice)).status_code == 404


async def test_a_removed_member_is_refused_on_the_next_request(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    bob = await join(kit, client, org, alice, "bob@example.com")
    assert (await client.get(f"{ORGS}/{org}", headers=bob)).status_code == 200  # cached now
    bob_id = await user_id(kit, "bob@example.com")
    assert (await client.delete(f"{ORGS}/{org}/members/{bob_id}", headers=alice)).status_code == 204
    assert (await client.get(f"{ORGS}/{org}", headers=bob)).status_code == 404


async def test_every_change_is_in_the_organization_audit_trail(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    other = await new_org(client, alice, "Other")
    await join(kit, client, org, alice, "bob@example.com")
    bob_id = await user_id(kit, "bob@example.com")
    await client.patch(f"{ORGS}/{org}/members/{bob_id}", json={"role": "admin"}, headers=alice)
    await client.delete(f"{ORGS}/{org}/members/{bob_id}", headers=alice)
    trail = (await client.get(f"{ORGS}/{org}/audit", headers=alice)).json()
    actions = [e["action"] for e in reversed(trail["items"])]
    assert actions == [
        "org_created",
        "org_member_invited",
        "org_invitation_accepted",
        "org_member_role_changed",
        "org_member_removed",
    ]
    assert all(e["detail"]["organization_id"] == org for e in trail["items"])
    other_trail = (await client.get(f"{ORGS}/{other}/audit", headers=alice)).json()
    assert [e["action"] for e in other_trail["items"]] == ["org_created"]


async def test_invitations_are_rate_limited_per_inviter(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    kit.orgs.settings.invitations_per_inviter_per_hour = 2
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    codes = [
        (
            await client.post(
                f"{ORGS}/{org}/invitations", json={"email": f"u{i}@example.com"}, headers=alice
            )
        ).status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]


async def test_invitation_limits_are_the_kits_rate_limits(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    # Counted by the kit's limiter, per organization too (another inviter of the same
    # organization is refused), and switched off with the kit's other limits.
    kit.orgs.settings.invitations_per_org_per_hour = 1
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    bob = await join(kit, client, org, alice, "bob@example.com")
    await client.patch(
        f"{ORGS}/{org}/members/{await user_id(kit, 'bob@example.com')}",
        json={"role": "admin"},
        headers=alice,
    )
    refused = await client.post(
        f"{ORGS}/{org}/invitations", json={"email": "c@example.com"}, headers=bob
    )
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) > 0
    kit.limiter.settings.enabled = False
    allowed = await client.post(
        f"{ORGS}/{org}/invitations", json={"email": "d@example.com"}, headers=bob
    )
    assert allowed.status_code == 201


async def test_delete_removes_the_organization_for_everyone(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    bob = await join(kit, client, org, alice, "bob@example.com")
    deleted = await client.delete(f"{ORGS}/{org}", headers=alice)
    assert deleted.status_code == 200
    assert deleted.json() == {"id": org, "subscription_canceled": False}
    assert (await client.get(f"{ORGS}/{org}", headers=bob)).status_code == 404
    assert (await client.get(ORGS, headers=bob)).json()["total"] == 0


async def test_register_through_an_invitation_verifies_the_invited_address(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    await client.post(f"{ORGS}/{org}/invitations", json={"email": "new@example.com"}, headers=alice)
    await kit.runner.drain()
    token = invitation_token(kit, "new@example.com")
    body = {"token": token, "password": "correct horse battery staple 42", "full_name": "N"}

    bad = await client.post(f"{ORGS}/invitations/register", json={**body, "token": "y" * 43})
    assert bad.status_code == 404
    assert await kit.users.get_by_email("new@example.com") is None  # nothing created

    joined = await client.post(f"{ORGS}/invitations/register", json=body)
    assert joined.status_code == 201, joined.text
    assert joined.json()["id"] == org
    user = await kit.users.get_by_email("new@example.com")
    assert user is not None
    assert user.is_verified
    again = await client.post(f"{ORGS}/invitations/register", json=body)
    assert again.status_code == 404  # single use


async def test_register_through_an_invitation_for_an_existing_account_says_sign_in(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    """The answer is the one `POST /auth/register` gives, to the token holder only: the
    inviter's answer is the same whether or not the address has an account."""
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    await verified(kit, client, "bob@example.com")
    invited = await client.post(
        f"{ORGS}/{org}/invitations", json={"email": "bob@example.com"}, headers=alice
    )
    unknown = await client.post(
        f"{ORGS}/{org}/invitations", json={"email": "nobody@example.com"}, headers=alice
    )
    assert invited.status_code == unknown.status_code == 201
    assert set(invited.json()) == set(unknown.json())
    await kit.runner.drain()
    body = {"token": invitation_token(kit, "bob@example.com"), "password": "x" * 20}
    taken = await client.post(f"{ORGS}/invitations/register", json=body)
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "email_already_registered"

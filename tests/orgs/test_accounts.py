"""Organizations at account creation (a personal organization) and deletion (last owner)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from saaskit import SaaSKit
from saaskit.email.memory import MemorySender
from saaskit.orgs.schemas import OrgsSettings
from saaskit.orgs.wiring import OrgsFeature
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from tests.billing.helpers import Billing, add_prices, billing_settings, gated_app
from tests.databases import TEST_DATABASE_URL
from tests.helpers import PASSWORD, KitFactory, build_app, make_settings, new_store
from tests.orgs.helpers import ORGS, invitation_token, join, new_org, user_id, verified


@pytest.fixture
async def personal(database_url: str) -> AsyncIterator[SaaSKit[Any]]:
    kit: SaaSKit[Any] = SaaSKit(
        make_settings(database_url),
        store=new_store(),
        email_sender=MemorySender(),
        features=[OrgsFeature(OrgsSettings(personal_org=True))],
    )
    yield kit
    await kit.aclose()


@pytest.fixture
async def personal_client(personal: SaaSKit[Any]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(personal), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def _count(kit: SaaSKit[Any], model: type[Any]) -> int:
    async with kit.session_factory() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def test_no_personal_organization_by_default(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    assert (await client.get(ORGS, headers=alice)).json()["total"] == 0


async def test_every_new_user_gets_a_personal_organization_they_own(
    personal: SaaSKit[Any], personal_client: httpx.AsyncClient
) -> None:
    client = personal_client
    registered = await client.post(
        "/api/v1/auth/register",
        json={"email": "alice@example.com", "password": PASSWORD, "full_name": "Alice Liddell"},
    )
    assert registered.status_code == 201, registered.text
    bob = await verified(personal, client, "bob@example.com")  # a second user
    bob_orgs = (await client.get(ORGS, headers=bob)).json()
    assert bob_orgs["total"] == 1
    assert bob_orgs["items"][0]["role"] == "owner"
    # Without a full name, the email's local part names it.
    carol = await personal.users.create("carol.smith@example.com", PASSWORD)
    rows, _ = await personal.orgs.mine(carol.id, 10, 0)
    assert [(o.name, role) for o, role in rows] == [("carol.smith", "owner")]
    assert rows[0][0].slug.startswith("carol-smith-")
    login = await client.post(
        "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    mine = (await client.get(ORGS, headers=headers)).json()["items"]
    assert [(o["name"], o["role"]) for o in mine] == [("Alice Liddell", "owner")]
    assert mine[0]["slug"].startswith("alice-liddell-")
    assert mine[0]["slug"] != bob_orgs["items"][0]["slug"]
    # A real organization: its owner manages it, and its creation is audited.
    org = mine[0]["id"]
    assert (await client.get(f"{ORGS}/{org}/members", headers=headers)).json()["total"] == 1
    events = (await client.get(f"{ORGS}/{org}/audit", headers=headers)).json()["items"]
    assert [(e["action"], e["detail"]["personal"]) for e in events] == [("org_created", True)]
    # Users made outside registration (the CLI's createsuperuser) get one too.
    root = await personal.users.create("root@example.com", PASSWORD, is_superuser=True)
    assert (await personal.orgs.mine(root.id, 10, 0))[1] == 1


async def test_a_failed_personal_organization_leaves_no_user(
    personal: SaaSKit[Any], personal_client: httpx.AsyncClient
) -> None:
    """Same transaction: when the organization cannot be made, neither is the user."""
    step = personal.features.named("orgs").personal_org  # type: ignore[attr-defined]
    taken = await new_org(
        personal_client, await verified(personal, personal_client, "owner@example.com")
    )
    slug = (await personal.orgs.get(taken)).slug
    step.slug = lambda name: slug  # every candidate is taken
    users_before = await _count(personal, personal.user_model)
    orgs_before = await _count(personal, personal.orgs.organization)
    failed = await personal_client.post(
        "/api/v1/auth/register", json={"email": "carol@example.com", "password": PASSWORD}
    )
    assert failed.status_code == 500
    assert await personal.users.get_by_email("carol@example.com") is None
    assert await _count(personal, personal.user_model) == users_before
    assert await _count(personal, personal.orgs.organization) == orgs_before
    # A clash on the first candidate is retried with another slug.
    candidates = iter([slug, "carol-free-1"])
    step.slug = lambda name: next(candidates)
    ok = await personal_client.post(
        "/api/v1/auth/register", json={"email": "carol@example.com", "password": PASSWORD}
    )
    assert ok.status_code == 201, ok.text
    carol = await user_id(personal, "carol@example.com")
    rows, total = await personal.orgs.mine(carol, 10, 0)
    assert total == 1
    assert rows[0][0].slug == "carol-free-1"


async def test_registering_through_an_invitation_gets_a_personal_org_only_with_the_setting(
    kit: SaaSKit[Any],
    client: httpx.AsyncClient,
    personal: SaaSKit[Any],
    personal_client: httpx.AsyncClient,
) -> None:
    # The two kits share one database: each uses its own addresses.
    for app_kit, app_client, expected in [(kit, client, 1), (personal, personal_client, 2)]:
        owner = await verified(app_kit, app_client, f"owner{expected}@example.com")
        org = await new_org(app_client, owner, "Team")
        email = f"new{expected}@example.com"
        invited = await app_client.post(
            f"{ORGS}/{org}/invitations", json={"email": email}, headers=owner
        )
        assert invited.status_code == 201
        await app_kit.runner.drain()
        registered = await app_client.post(
            f"{ORGS}/invitations/register",
            json={"token": invitation_token(app_kit, email), "password": PASSWORD},
        )
        assert registered.status_code == 201, registered.text
        new = await user_id(app_kit, email)
        rows, total = await app_kit.orgs.mine(new, 10, 0)
        assert total == expected
        assert ("Team", "member") in [(o.name, role) for o, role in rows]


async def _login(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _delete_me(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.delete("/api/v1/users/me", headers=await _login(client, email))


async def test_the_last_owner_cannot_delete_their_account_while_others_remain(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    team = await new_org(client, alice, "Team")
    solo = await new_org(client, alice, "Solo")
    await join(kit, client, team, alice, "bob@example.com")
    refused = await _delete_me(client, "alice@example.com")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "organization_owner_cannot_be_deleted"
    assert error["organizations"] == [team]
    assert f"Team (id {team})" in error["message"]
    assert "Solo" not in error["message"]
    # Nothing happened: the account and both organizations are there.
    assert await kit.users.get_by_email("alice@example.com") is not None
    assert (await client.get(f"{ORGS}/{solo}", headers=alice)).status_code == 200
    # An admin deleting the account gets the same answer.
    root = await kit.users.create("root@example.com", PASSWORD, is_superuser=True)
    admin = await _login(client, "root@example.com")
    alice_id = await user_id(kit, "alice@example.com")
    by_admin = await client.delete(f"/api/v1/users/{alice_id}", headers=admin)
    assert by_admin.status_code == 409
    assert root.id != alice_id

    # Transfer the team: then the account goes, and the organization it was alone in with it.
    bob_id = await user_id(kit, "bob@example.com")
    moved = await client.post(f"{ORGS}/{team}/transfer", json={"user_id": bob_id}, headers=alice)
    assert moved.status_code == 204
    assert (await _delete_me(client, "alice@example.com")).status_code == 204
    assert await kit.users.get_by_email("alice@example.com") is None
    bob = await _login(client, "bob@example.com")
    members = (await client.get(f"{ORGS}/{team}/members", headers=bob)).json()
    assert [(m["user_id"], m["role"]) for m in members["items"]] == [(bob_id, "owner")]
    with pytest.raises(Exception, match="No such organization"):
        await kit.orgs.get(solo)
    events, _ = await kit.audit.page(limit=50, offset=0, user_id=alice_id, action="org_deleted")
    assert [(e.detail or {})["organization_id"] for e in events] == [solo]


async def test_another_owner_keeps_the_organization(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    team = await new_org(client, alice, "Team")
    bob = await join(kit, client, team, alice, "bob@example.com", role="owner")
    assert (await _delete_me(client, "alice@example.com")).status_code == 204
    members = (await client.get(f"{ORGS}/{team}/members", headers=bob)).json()
    assert members["total"] == 1


async def test_an_organization_with_a_live_subscription_is_never_deleted_with_its_owner(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
) -> None:
    """Alone in it, but paying: deleting the account would leave a subscription running."""
    add_prices(fake_stripe)
    kit = await make_kit(billing=billing_settings(fake_stripe))
    transport = httpx.ASGITransport(app=gated_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        billing = Billing(kit, client, fake_stripe)
        alice = await billing.signup("alice@example.com")
        org = await new_org(client, alice, "Paid")
        fake_stripe.complete_checkout(
            await billing.checkout_for(alice, {"owner": f"organization:{org}"}, "pro")
        )
        await billing.deliver()
        refused = await _delete_me(client, "alice@example.com")
        assert refused.status_code == 409
        assert refused.json()["error"]["organizations"] == [org]
        assert await kit.users.get_by_email("alice@example.com") is not None
        assert (await client.get(f"{ORGS}/{org}", headers=alice)).status_code == 200


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="races run on PostgreSQL")
async def test_an_accept_racing_the_owners_deletion_never_leaves_an_ownerless_org(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    """Either the account goes with its organization (and the accept fails), or Bob gets
    in first and the deletion is refused: never a member in an organization without owner."""
    from saaskit.orgs.errors import InvitationInvalid, OrgNotFound, OrgsBlockAccountDeletion

    outcomes = set()
    for i in range(6):
        owner_email, bob_email = f"owner{i}@example.com", f"bob{i}@example.com"
        owner = await verified(kit, client, owner_email)
        org = await new_org(client, owner, f"Race {i}")
        invited = await client.post(
            f"{ORGS}/{org}/invitations", json={"email": bob_email}, headers=owner
        )
        assert invited.status_code == 201
        await kit.runner.drain()
        await verified(kit, client, bob_email)
        bob = await kit.users.get_by_email(bob_email)
        owner_id = await user_id(kit, owner_email)
        deleted, accepted = await asyncio.gather(
            kit.users.delete(owner_id, actor_id=owner_id),
            kit.orgs.accept(invitation_token(kit, bob_email), bob),
            return_exceptions=True,
        )
        members = kit.orgs.membership
        async with kit.session_factory() as db:
            roles = list(
                await db.scalars(select(members.role).where(members.organization_id == org))
            )
        if isinstance(deleted, OrgsBlockAccountDeletion):
            assert not isinstance(accepted, BaseException)
            assert sorted(roles) == ["member", "owner"]
            outcomes.add("refused")
        else:
            assert deleted is None, deleted
            assert isinstance(accepted, InvitationInvalid | OrgNotFound), accepted
            assert roles == []
            outcomes.add("deleted")
    assert outcomes  # which one wins depends on the scheduling

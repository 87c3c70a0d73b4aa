"""``/api/v1/admin/orgs``: superusers manage organizations without being members."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from tests.helpers import PASSWORD, KitFactory, answer, bearer, login
from tests.orgs.billing_helpers import org_billing, remote, subscribe_org
from tests.orgs.helpers import ORGS, join, new_org, user_id, verified

ADMIN = "/api/v1/admin/orgs"


async def _root(kit: SaaSKit[Any], client: httpx.AsyncClient) -> dict[str, str]:
    await kit.users.create("root@example.com", PASSWORD, is_superuser=True, is_verified=True)
    return bearer((await login(client, "root@example.com"))["access_token"])


async def test_a_superuser_is_no_member_and_gets_404_on_member_routes(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    root = await _root(kit, client)
    for method, tail in [
        ("GET", ""),
        ("GET", "/members"),
        ("GET", "/audit"),
        ("DELETE", ""),
        ("POST", "/leave"),
        ("PATCH", f"/members/{await user_id(kit, 'alice@example.com')}"),
    ]:
        body = {"role": "member"} if method == "PATCH" else None
        theirs = await client.request(method, f"{ORGS}/{org}{tail}", json=body, headers=root)
        missing = await client.request(method, f"{ORGS}/999999{tail}", json=body, headers=root)
        assert theirs.status_code == 404, tail
        assert answer(theirs) == answer(missing)
    assert (await client.get(ORGS, headers=root)).json()["total"] == 0


async def test_only_superusers_reach_the_admin_routes(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    for method, path in [
        ("GET", ADMIN),
        ("GET", f"{ADMIN}/{org}"),
        ("DELETE", f"{ADMIN}/{org}"),
        ("POST", f"{ADMIN}/{org}/transfer"),
    ]:
        body = {"user_id": 1} if method == "POST" else None
        assert (await client.request(method, path, json=body)).status_code == 401
        owner = await client.request(method, path, json=body, headers=alice)
        assert owner.status_code == 403, path  # even the organization's owner
    assert (await client.get(f"{ORGS}/{org}", headers=alice)).status_code == 200


async def test_list_search_and_get_with_members(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    acme = await new_org(client, alice, "Acme Rockets")
    await new_org(client, alice, "Globex")
    await new_org(client, alice, "100%_Real")
    await join(kit, client, acme, alice, "bob@example.com")
    root = await _root(kit, client)

    everything = (await client.get(ADMIN, headers=root)).json()
    assert everything["total"] == 3
    assert [(o["name"], o["members"]) for o in everything["items"]] == [
        ("Acme Rockets", 2),
        ("Globex", 1),
        ("100%_Real", 1),
    ]
    found = (await client.get(ADMIN, params={"q": "ROCKET"}, headers=root)).json()
    assert [o["id"] for o in found["items"]] == [acme]
    # LIKE wildcards in the query are literal characters.
    assert (await client.get(ADMIN, params={"q": "%"}, headers=root)).json()["total"] == 1
    assert (await client.get(ADMIN, params={"q": "_"}, headers=root)).json()["total"] == 1
    nul = await client.get(ADMIN, params={"q": "a\x00b"}, headers=root)
    assert nul.status_code == 422
    assert nul.json()["error"]["code"] == "validation_error"
    paged = (await client.get(ADMIN, params={"limit": 1, "offset": 1}, headers=root)).json()
    assert [o["name"] for o in paged["items"]] == ["Globex"]

    got = await client.get(f"{ADMIN}/{acme}", params={"limit": 1}, headers=root)
    assert got.status_code == 200
    detail = got.json()
    assert detail["members"] == 2
    assert detail["owners"] == [await user_id(kit, "alice@example.com")]
    assert detail["member_page"]["total"] == 2
    assert [m["email"] for m in detail["member_page"]["items"]] == ["alice@example.com"]
    missing = await client.get(f"{ADMIN}/999999", headers=root)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "organization_not_found"
    too_big = await client.get(f"{ADMIN}/{2**40}", headers=root)
    assert too_big.status_code == 422


async def test_transfer_and_delete_on_behalf_are_audited_with_the_admin_as_actor(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    bob = await join(kit, client, org, alice, "bob@example.com")
    root = await _root(kit, client)
    root_id = await user_id(kit, "root@example.com")
    alice_id, bob_id = (
        await user_id(kit, "alice@example.com"),
        await user_id(kit, "bob@example.com"),
    )

    stranger = await verified(kit, client, "carol@example.com")
    not_member = await client.post(
        f"{ADMIN}/{org}/transfer",
        json={"user_id": await user_id(kit, "carol@example.com")},
        headers=root,
    )
    assert not_member.status_code == 404
    assert not_member.json()["error"]["code"] == "organization_member_not_found"
    assert (await client.get(f"{ORGS}/{org}", headers=stranger)).status_code == 404

    moved = await client.post(f"{ADMIN}/{org}/transfer", json={"user_id": bob_id}, headers=root)
    assert moved.status_code == 204
    # Effective at once (the cached memberships were dropped): Bob owns it, Alice is admin.
    assert (await client.get(f"{ORGS}/{org}", headers=bob)).json()["role"] == "owner"
    assert (await client.get(f"{ORGS}/{org}", headers=alice)).json()["role"] == "admin"
    events = (await client.get(f"{ORGS}/{org}/audit", headers=bob)).json()["items"]
    transfer = events[0]
    assert transfer["action"] == "org_ownership_transferred"
    assert transfer["actor_id"] == root_id
    assert transfer["target_id"] == bob_id
    assert transfer["detail"]["by_admin"] is True
    assert transfer["detail"]["previous_owners"] == [alice_id]
    # The superuser is still no member.
    assert (await client.get(f"{ORGS}/{org}", headers=root)).status_code == 404

    deleted = await client.delete(f"{ADMIN}/{org}", headers=root)
    assert deleted.status_code == 200
    assert deleted.json() == {"id": org, "subscription_canceled": False}
    assert (await client.get(f"{ORGS}/{org}", headers=bob)).status_code == 404
    assert (await client.get(f"{ADMIN}/{org}", headers=root)).status_code == 404
    assert (await client.delete(f"{ADMIN}/{org}", headers=root)).status_code == 404
    trail, _ = await kit.audit.page(limit=10, offset=0, action="org_deleted")
    assert [(e.actor_id, (e.detail or {})["organization_id"]) for e in trail] == [(root_id, org)]


async def test_a_superuser_deleting_an_organization_cancels_its_subscription(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    billing = await org_billing(make_kit, fake_stripe, monkeypatch)
    async with billing.client:
        kit, client = billing.kit, billing.client
        alice = await verified(kit, client, "alice@example.com")
        org = await new_org(client, alice)
        subscription = await subscribe_org(billing, alice, org)
        root = await _root(kit, client)
        deleted = await client.delete(f"{ADMIN}/{org}", headers=root)
        assert deleted.status_code == 200, deleted.text
        assert deleted.json() == {"id": org, "subscription_canceled": True}
        assert remote(fake_stripe, subscription)["status"] == "canceled"

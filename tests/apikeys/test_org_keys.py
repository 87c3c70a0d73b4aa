"""Organization keys act for the organization; personal keys follow their owner's membership."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from tests.apikeys.helpers import KEYS, key_header, new_key
from tests.orgs.helpers import ORGS, join, new_org, user_id, verified


async def test_an_org_key_needs_api_keys_manage_and_never_exceeds_its_creator(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    owner = await verified(kit, client, "owner@example.com")
    org = await new_org(client, owner)
    admin = await join(kit, client, org, owner, "admin@example.com", "admin")
    member = await join(kit, client, org, owner, "member@example.com", "member")
    url = f"{KEYS}/orgs/{org}"
    refused = await client.post(url, json={"name": "x"}, headers=member)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "organization_permission_denied"
    # An admin lacks org:delete: a key with it would be more than the admin has.
    beyond = await client.post(url, json={"name": "x", "scopes": ["org:delete"]}, headers=admin)
    assert beyond.status_code == 422
    assert beyond.json()["error"]["code"] == "api_key_scope_invalid"
    made = await new_key(client, admin, ["org:read", "members:read", "reports:read"], org_id=org)
    assert made["organization_id"] == org
    # The owner may grant what only owners have.
    await new_key(client, owner, ["org:delete"], org_id=org)
    listed = (await client.get(url, headers=admin)).json()
    assert len(listed) == 2
    # Not visible among the admin's personal keys; not reachable by another organization.
    assert (await client.get(KEYS, headers=admin)).json() == []
    other = await new_org(client, member, "Other")
    assert (await client.get(f"{KEYS}/orgs/{other}", headers=admin)).status_code == 404


async def test_an_org_key_acts_for_the_organization_and_survives_its_creator_leaving(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    owner = await verified(kit, client, "owner@example.com")
    org = await new_org(client, owner)
    admin = await join(kit, client, org, owner, "admin@example.com", "admin")
    key = key_header(
        (await new_key(client, admin, ["org:read", "members:read", "reports:read"], org_id=org))[
            "key"
        ]
    )
    got = await client.get("/org-reports", headers=key)
    assert got.status_code == 200, got.text
    assert got.json()["role"] == "api_key"
    assert got.json()["org"] == org
    assert (await client.get(f"{ORGS}/{org}", headers=key)).status_code == 200
    assert (await client.get(f"{ORGS}/{org}/members", headers=key)).status_code == 200
    reports = await client.get("/reports", headers=key)
    assert reports.json()["org"] == org
    # It is not a person: routes that yield a user refuse it.
    assert (await client.get("/whoami", headers=key)).status_code == 403
    assert (await client.get("/api/v1/users/me", headers=key)).status_code == 403
    # Only its own organization.
    other = await new_org(client, owner, "Other")
    assert (await client.get(f"{ORGS}/{other}", headers=key)).status_code == 404
    # Never the kit's changes.
    assert (
        await client.patch(f"{ORGS}/{org}", json={"name": "Evil"}, headers=key)
    ).status_code == 401
    # The admin leaves: the key keeps working.
    assert (await client.post(f"{ORGS}/{org}/leave", headers=admin)).status_code == 204
    assert (await client.get("/org-reports", headers=key)).status_code == 200
    assert (await client.get(f"{ORGS}/{org}", headers=key)).status_code == 200
    # The owner (api_keys:manage) revokes it: refused at once.
    listed = (await client.get(f"{KEYS}/orgs/{org}", headers=owner)).json()
    revoked = await client.delete(f"{KEYS}/orgs/{org}/{listed[0]['id']}", headers=owner)
    assert revoked.status_code == 204
    assert (await client.get("/org-reports", headers=key)).status_code == 401


async def test_an_org_key_without_a_permission_gets_403_on_routes_needing_it(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    owner = await verified(kit, client, "owner@example.com")
    org = await new_org(client, owner)
    key = key_header((await new_key(client, owner, ["reports:read"], org_id=org))["key"])
    assert (await client.get(f"{ORGS}/{org}/members", headers=key)).status_code == 403
    assert (await client.get("/org-reports", headers=key)).status_code == 403


async def test_a_removed_member_s_personal_key_loses_the_organization(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    owner = await verified(kit, client, "owner@example.com")
    org = await new_org(client, owner)
    member = await join(kit, client, org, owner, "member@example.com", "member")
    key = key_header((await new_key(client, member, ["reports:read"]))["key"])
    scoped = {**key, "X-Organization": str(org)}
    assert (await client.get(f"{ORGS}/{org}", headers=key)).status_code == 200
    # A personal key is limited to its scopes inside the organization too.
    assert (await client.get("/org-reports", headers=scoped)).status_code == 403
    removed = await client.delete(
        f"{ORGS}/{org}/members/{await user_id(kit, 'member@example.com')}", headers=owner
    )
    assert removed.status_code == 204
    assert (await client.get(f"{ORGS}/{org}", headers=key)).status_code == 404
    # The key still works for its user outside the organization.
    assert (await client.get("/reports", headers=key)).status_code == 200


async def test_a_personal_key_with_an_org_scope_works_in_the_org(
    kit: SaaSKit[Any], database_url: str
) -> None:
    from saaskit.apikeys.schemas import ApiKeysSettings
    from saaskit.apikeys.wiring import ApiKeysFeature
    from saaskit.email.memory import MemorySender
    from tests.apikeys.conftest import host_app
    from tests.helpers import client_for, make_settings, new_store

    other = SaaSKit(
        make_settings(database_url),
        store=new_store(),
        email_sender=MemorySender(),
        features=[ApiKeysFeature(ApiKeysSettings(scopes=["org:read"]))],
    )
    try:
        async with client_for(other, host_app(other)) as client:
            owner = await verified(other, client, "owner@example.com")
            org = await new_org(client, owner)
            key = key_header((await new_key(client, owner, ["org:read"]))["key"])
            got = await client.get("/org-reports", headers={**key, "X-Organization": str(org)})
            assert got.status_code == 200
            assert got.json()["role"] == "owner"
    finally:
        await other.aclose()


async def test_deleting_an_organization_stops_its_keys(
    kit: SaaSKit[Any], client: httpx.AsyncClient
) -> None:
    owner = await verified(kit, client, "owner@example.com")
    org = await new_org(client, owner)
    key = key_header((await new_key(client, owner, ["org:read"], org_id=org))["key"])
    assert (await client.get("/org-reports", headers=key)).status_code == 200
    assert (await client.delete(f"{ORGS}/{org}", headers=owner)).status_code == 200
    assert (await client.get("/org-reports", headers=key)).status_code == 401


class _Failing:
    async def get_many(self, keys: Any) -> Any:
        raise RuntimeError("the store broke")


async def test_no_key_is_ever_in_a_log_line(
    kit: SaaSKit[Any], client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = await verified(kit, client, "owner@example.com")
    org = await new_org(client, owner)
    personal = await new_key(client, owner, ["reports:read"])
    organization = await new_key(client, owner, ["org:read"], org_id=org)
    keys = [personal["key"], organization["key"]]
    wrong = keys[0][:-1] + ("A" if keys[0][-1] != "A" else "B")
    for key in [*keys, wrong]:
        for headers in (key_header(key), {"Authorization": f"Bearer {key}"}):
            await client.get("/reports", headers=headers)
            await client.get("/org-reports", headers=headers)
            await client.patch("/api/v1/users/me", json={"full_name": "x"}, headers=headers)
    await client.delete(f"{KEYS}/{personal['id']}", headers=owner)
    await client.get("/reports", headers=key_header(keys[0]))
    kit.api_keys.store = _Failing()  # type: ignore[assignment]  # logged, never the key
    assert (await client.get("/reports", headers=key_header(keys[1]))).status_code == 500
    secrets = [*keys, wrong, *(key[-38:-6] for key in keys)]
    lines = [record.getMessage() + str(record.__dict__) for record in caplog.records]
    assert lines
    assert not [line for line in lines if any(secret in line for secret in secrets)]

"""Organizations that require 2FA, and the superusers' view and reset."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import event, select, update

from saaskit import SaaSKit
from saaskit.mfa import totp
from tests.helpers import PASSWORD, bearer, login
from tests.mfa.helpers import LOGIN, MFA, Clock, challenge, code_of, enroll, verify
from tests.orgs.helpers import ORGS, join, new_org, user_id


async def mark_verified(kit: SaaSKit[Any], email: str) -> None:
    async with kit.session_factory.begin() as db:
        await db.execute(
            update(kit.user_model).where(kit.user_model.email == email).values(is_verified=True)
        )
    await kit.users.invalidate(await user_id(kit, email))


async def turn_on(client: httpx.AsyncClient, headers: dict[str, str], clock: Clock) -> None:
    setup = await client.post(f"{MFA}/totp/setup", headers=headers)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    code = totp.code_at(secret, totp.step_at(clock.now))
    confirmed = await client.post(f"{MFA}/totp/confirm", json={"code": code}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text


async def test_an_organization_can_require_2fa_of_its_members(
    kit: SaaSKit[Any], client: httpx.AsyncClient, clock: Clock
) -> None:
    alice = await enroll(client, clock)
    await mark_verified(kit, alice.email)
    org = await new_org(client, alice.headers)
    bob = await join(kit, client, org, alice.headers, "bob@example.com")
    carol = await join(kit, client, org, alice.headers, "carol@example.com", role="admin")
    policy = f"{ORGS}/{org}/mfa-policy"
    assert (await client.get(f"{ORGS}/{org}", headers=bob)).status_code == 200  # cached

    member = await client.put(policy, json={"required": True}, headers=bob)
    assert member.status_code == 403
    assert code_of(member) == "organization_permission_denied"
    admin_without = await client.put(policy, json={"required": True}, headers=carol)
    assert admin_without.status_code == 409
    assert code_of(admin_without) == "mfa_not_enabled"
    on = await client.put(policy, json={"required": True}, headers=alice.headers)
    assert on.status_code == 200, on.text
    assert on.json() == {"required": True}

    blocked = await client.get(f"{ORGS}/{org}", headers=bob)
    assert blocked.status_code == 403
    assert code_of(blocked) == "org_mfa_required"
    assert "/mfa/totp/setup" in blocked.json()["error"]["message"]
    assert (await client.get(f"{ORGS}/{org}/members", headers=carol)).status_code == 403
    assert (await client.get(f"{ORGS}/{org}", headers=alice.headers)).status_code == 200
    assert (await client.get(policy, headers=alice.headers)).json() == {"required": True}
    # Leaving needs no second factor: dave goes without turning 2FA on.
    dave = await join(kit, client, org, alice.headers, "dave@example.com")
    assert (await client.get(f"{ORGS}/{org}", headers=dave)).status_code == 403
    left = await client.post(f"{ORGS}/{org}/leave", headers=dave)
    assert left.status_code == 204, left.text
    assert (await client.get(f"{ORGS}/{org}", headers=dave)).status_code == 404
    # Other routes are not the organization's: bob can still turn 2FA on.
    await turn_on(client, bob, clock)
    assert (await client.get(f"{ORGS}/{org}", headers=bob)).status_code == 200

    # Audited with the organization.
    model = kit.models.audit_event
    async with kit.session_factory() as db:
        details = (
            await db.scalars(select(model.detail).where(model.action == "org_mfa_policy_changed"))
        ).all()
    assert details == [{"organization_id": org, "required": True}]

    off = await client.put(policy, json={"required": False}, headers=alice.headers)
    assert off.status_code == 200
    assert (await client.get(f"{ORGS}/{org}", headers=carol)).status_code == 200


async def test_the_requirement_costs_no_query_once_the_membership_is_cached(
    kit: SaaSKit[Any], client: httpx.AsyncClient, clock: Clock
) -> None:
    alice = await enroll(client, clock)
    await mark_verified(kit, alice.email)
    org = await new_org(client, alice.headers)
    bob = await join(kit, client, org, alice.headers, "bob@example.com")
    put = await client.put(
        f"{ORGS}/{org}/mfa-policy", json={"required": True}, headers=alice.headers
    )
    assert put.status_code == 200
    assert (await client.get(f"{ORGS}/{org}", headers=bob)).status_code == 403  # caches it
    assert (await client.get(f"{ORGS}/{org}", headers=alice.headers)).status_code == 200
    bob_id = await user_id(kit, "bob@example.com")
    alice_id = await user_id(kit, alice.email)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(kit.engine.sync_engine, "before_cursor_execute", count)
    try:
        cached = await kit.orgs.context(org, bob_id)
        owner = await kit.orgs.context(org, alice_id)
    finally:
        event.remove(kit.engine.sync_engine, "before_cursor_execute", count)
    assert statements == []
    assert cached.mfa_blocked is True
    assert owner.mfa_blocked is False


async def test_disabling_2fa_in_a_requiring_organization_blocks_at_once(
    kit: SaaSKit[Any], client: httpx.AsyncClient, clock: Clock
) -> None:
    alice = await enroll(client, clock)
    await mark_verified(kit, alice.email)
    org = await new_org(client, alice.headers)
    bob = await join(kit, client, org, alice.headers, "bob@example.com")
    await turn_on(client, bob, clock)
    clock.next_step()
    put = await client.put(
        f"{ORGS}/{org}/mfa-policy", json={"required": True}, headers=alice.headers
    )
    assert put.status_code == 200
    assert (await client.get(f"{ORGS}/{org}", headers=bob)).status_code == 200  # cached: ok
    async with kit.session_factory() as db:
        factor = kit.models.tables["mfa_totp"]
        sealed = await db.scalar(
            select(factor.secret).where(factor.user_id == await user_id(kit, "bob@example.com"))
        )
    assert sealed is not None
    secret = kit.mfa.sealer.open(sealed)
    off = await client.post(
        f"{MFA}/disable",
        json={"password": PASSWORD, "code": totp.code_at(secret, totp.step_at(clock.now))},
        headers=bob,
    )
    assert off.status_code == 204, off.text
    blocked = await client.get(f"{ORGS}/{org}", headers=bob)
    assert blocked.status_code == 403  # the cached membership was dropped
    assert code_of(blocked) == "org_mfa_required"


async def test_superusers_see_and_reset_a_users_2fa(
    kit: SaaSKit[Any], client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    target = await user_id(kit, user.email)
    await kit.users.create("root@example.com", PASSWORD, is_superuser=True, is_verified=True)
    root = bearer((await login(client, "root@example.com"))["access_token"])
    url = f"/api/v1/admin/users/{target}/mfa"

    assert (await client.get(url, headers=user.headers)).status_code == 403
    assert (await client.delete(url, headers=user.headers)).status_code == 403
    seen = await client.get(url, headers=root)
    assert seen.status_code == 200
    assert seen.json()["enabled"] is True
    assert seen.json()["user_id"] == target
    assert seen.json()["recovery_codes_remaining"] == 10

    assert (await client.delete(url, headers=root)).status_code == 204
    assert (await client.get(url, headers=root)).json()["enabled"] is False
    plain = await client.post(LOGIN, json={"email": user.email, "password": PASSWORD})
    assert plain.status_code == 200  # no second step any more
    stale = await verify(client, "mfa_" + "A" * 43, recovery_code=user.recovery_codes[0])
    assert code_of(stale) == "mfa_challenge_invalid"

    model = kit.models.audit_event
    root_id = await user_id(kit, "root@example.com")
    async with kit.session_factory() as db:
        rows = (
            await db.execute(
                select(model.actor_id, model.target_id).where(model.action == "mfa_reset")
            )
        ).all()
    assert [tuple(r) for r in rows] == [(root_id, target)]


async def test_a_challenge_of_a_user_reset_meanwhile_gives_nothing(
    kit: SaaSKit[Any], client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    token = await challenge(client, user.email)
    await kit.mfa.reset(await user_id(kit, user.email), actor_id=1)
    answer = await verify(client, token, code=user.code(clock))
    assert answer.status_code == 401
    assert code_of(answer) == "mfa_code_invalid"


async def test_the_privacy_export_says_whether_2fa_is_on_and_holds_no_secret(
    kit: SaaSKit[Any], client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    [exporter] = [e for e in kit.features.exporters() if e.name == "two_factor_authentication"]
    [record] = await exporter.export(await user_id(kit, user.email))
    assert record["enabled"] is True
    assert record["recovery_codes_remaining"] == 10
    assert user.secret not in str(record)
    assert not any(code in str(record) for code in user.recovery_codes)


async def test_deleting_the_user_deletes_the_factor_and_codes(
    kit: SaaSKit[Any], client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    deleted = await client.request(
        "DELETE", "/api/v1/users/me", headers=user.headers, json={"password": PASSWORD}
    )
    assert deleted.status_code == 204, deleted.text
    factor, code = kit.models.tables["mfa_totp"], kit.models.tables["mfa_recovery_code"]
    async with kit.session_factory() as db:
        assert (await db.scalars(select(factor.id))).all() == []
        assert (await db.scalars(select(code.id))).all() == []

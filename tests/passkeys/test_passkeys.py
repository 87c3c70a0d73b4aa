"""Passkeys over HTTP with a software authenticator: the ceremonies and their abuse cases."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from saaskit.features import FeatureError
from saaskit.passkeys import PasskeysFeature
from saaskit.store.memory import MemoryStore
from tests.apikeys.helpers import key_header, new_key
from tests.helpers import PASSWORD, bearer, client_for
from tests.passkeys.authenticator import Credential, SoftAuthenticator, b64url
from tests.passkeys.helpers import BASE, ORIGIN, World, make
from tests.secret_scan import REGISTRY


def code(response: Any) -> str:
    return str(response.json()["error"]["code"])


async def test_register_list_log_in_and_remove(world: World) -> None:
    alice = await world.user("alice@example.com")
    cred, record = await world.register(alice)
    assert record["name"] == "Laptop"
    assert record["transports"] == ["internal"]
    listed = await world.client.get(BASE, headers=alice)
    assert [p["id"] for p in listed.json()] == [record["id"]]
    assert "credential_id" not in listed.json()[0]

    login = await world.login_with(cred)
    assert login.status_code == 200, login.text
    assert login.headers["Cache-Control"] == "no-store"
    tokens = login.json()
    me = await world.client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    assert me.json()["email"] == "alice@example.com"
    refreshed = await world.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    sessions = await world.client.get("/api/v1/auth/sessions", headers=alice)
    assert len(sessions.json()) == 2
    used = (await world.client.get(BASE, headers=alice)).json()[0]
    assert used["last_used_at"] is not None

    removed = await world.client.delete(f"{BASE}/{record['id']}", headers=alice)
    assert removed.status_code == 204
    assert (await world.client.get(BASE, headers=alice)).json() == []
    actions = [(e.action, e.outcome, e.detail) for e in await world.audit()]
    assert ("passkey_added", "success", {"passkey_id": record["id"], "name": "Laptop"}) in actions
    assert ("login", "success", {"method": "passkey"}) in actions
    assert ("passkey_removed", "success", {"passkey_id": record["id"]}) in actions


async def test_an_assertion_for_a_removed_passkey_is_refused(world: World) -> None:
    alice = await world.user("alice@example.com")
    cred, record = await world.register(alice)
    await world.client.delete(f"{BASE}/{record['id']}", headers=alice)
    refused = await world.login_with(cred)
    assert refused.status_code == 401
    assert code(refused) == "passkey_login_failed"


async def test_a_registration_challenge_is_single_use(world: World) -> None:
    alice = await world.user("alice@example.com")
    start = await world.options(alice)
    _, answer = world.device.create(start["options"])
    assert (await world.verify(alice, start["challenge_id"], answer)).status_code == 201
    replay = await world.verify(alice, start["challenge_id"], answer)
    assert replay.status_code == 400
    assert code(replay) == "passkey_challenge_invalid"


async def test_a_login_challenge_is_single_use(world: World) -> None:
    alice = await world.user("alice@example.com")
    cred, _ = await world.register(alice)
    start = await world.login_options()
    answer = world.device.get(start["options"], cred)
    assert (await world.login(start["challenge_id"], answer)).status_code == 200
    replay = await world.login(start["challenge_id"], answer)
    assert replay.status_code == 400
    assert code(replay) == "passkey_challenge_invalid"


async def test_another_users_registration_challenge_is_refused(world: World) -> None:
    alice = await world.user("alice@example.com")
    bob = await world.user("bob@example.com")
    start = await world.options(alice)
    _, answer = world.device.create(start["options"])
    stolen = await world.verify(bob, start["challenge_id"], answer)
    assert stolen.status_code == 400
    assert code(stolen) == "passkey_challenge_invalid"
    assert (await world.client.get(BASE, headers=bob)).json() == []
    # Bob's attempt did not use up Alice's challenge.
    assert (await world.verify(alice, start["challenge_id"], answer)).status_code == 201


async def test_an_answer_to_another_challenge_is_refused(world: World) -> None:
    alice = await world.user("alice@example.com")
    first, second = await world.options(alice), await world.options(alice)
    _, answer = world.device.create(first["options"])
    refused = await world.verify(alice, second["challenge_id"], answer)
    assert refused.status_code == 400
    assert code(refused) == "passkey_registration_invalid"


@pytest.mark.parametrize(
    "where",
    [
        {"origin": "http://localhost:8001"},
        {"origin": "https://evil.example"},
        {"rp_id": "evil.example"},
    ],
)
async def test_registration_from_a_wrong_origin_or_rp_id_is_refused(
    world: World, where: dict[str, Any]
) -> None:
    alice = await world.user("alice@example.com")
    start = await world.options(alice)
    _, answer = world.device.create(start["options"], **where)
    refused = await world.verify(alice, start["challenge_id"], answer)
    assert refused.status_code == 400
    assert code(refused) == "passkey_registration_invalid"
    assert (await world.client.get(BASE, headers=alice)).json() == []


@pytest.mark.parametrize(
    "where",
    [
        {"origin": "http://localhost:8001"},
        {"origin": "https://evil.example"},
        {"rp_id": "evil.example"},
    ],
)
async def test_login_from_a_wrong_origin_or_rp_id_is_refused(
    world: World, where: dict[str, str]
) -> None:
    alice = await world.user("alice@example.com")
    cred, _ = await world.register(alice)
    refused = await world.login_with(cred, **where)
    assert refused.status_code == 401
    assert code(refused) == "passkey_login_failed"
    failures = [e.detail for e in await world.audit() if e.outcome == "failure"]
    assert failures == [{"method": "passkey", "reason": "verification"}]


async def test_a_credential_registered_by_another_user_cannot_be_taken_over(
    world: World,
) -> None:
    alice = await world.user("alice@example.com")
    cred, _ = await world.register(alice)
    bob = await world.user("bob@example.com")
    start = await world.options(bob)
    # Bob answers with Alice's credential id (and a key of his own).
    forged = Credential("localhost", cred.user_handle, id=cred.id)
    _, answer = world.device.create(start["options"], credential=forged)
    refused = await world.verify(bob, start["challenge_id"], answer)
    assert refused.status_code == 400
    assert code(refused) == "passkey_registration_invalid"
    assert (await world.client.get(BASE, headers=bob)).json() == []
    # Alice's passkey still logs Alice in; Bob's key signs for nothing.
    ok = await world.login_with(cred)
    me = await world.client.get("/api/v1/users/me", headers=bearer(ok.json()["access_token"]))
    assert me.json()["email"] == "alice@example.com"
    assert (await world.login_with(forged)).status_code == 401


async def test_another_users_passkey_cannot_be_removed(world: World) -> None:
    alice = await world.user("alice@example.com")
    _, record = await world.register(alice)
    bob = await world.user("bob@example.com")
    refused = await world.client.delete(f"{BASE}/{record['id']}", headers=bob)
    assert refused.status_code == 404
    assert code(refused) == "passkey_not_found"
    assert len((await world.client.get(BASE, headers=alice)).json()) == 1


async def test_a_user_handle_of_another_account_is_refused(world: World) -> None:
    alice = await world.user("alice@example.com")
    cred, _ = await world.register(alice)
    refused = await world.login_with(cred, user_handle=b"\x00" * 32)
    assert refused.status_code == 401


async def test_a_counter_that_goes_back_is_refused(world: World) -> None:
    alice = await world.user("alice@example.com")
    cred, _ = await world.register(alice)
    assert (await world.login_with(cred)).status_code == 200
    cred.sign_count -= 1  # a clone answers with the count the original already used
    refused = await world.login_with(cred)
    assert refused.status_code == 401
    reasons = [e.detail for e in await world.audit() if e.outcome == "failure"]
    assert reasons == [{"method": "passkey", "reason": "sign_count"}]


async def test_a_passkey_that_never_counts_logs_in_again(world: World) -> None:
    world.device.count_step = 0  # synced passkeys report 0
    alice = await world.user("alice@example.com")
    cred, _ = await world.register(alice)
    assert (await world.login_with(cred)).status_code == 200
    assert (await world.login_with(cred)).status_code == 200


async def test_user_verification_is_required(world: World) -> None:
    alice = await world.user("alice@example.com")
    cred, _ = await world.register(alice)
    world.device.uv = False
    assert (await world.login_with(cred)).status_code == 401
    start = await world.options(alice)
    _, answer = world.device.create(start["options"])
    refused = await world.verify(alice, start["challenge_id"], answer)
    assert code(refused) == "passkey_registration_invalid"


async def test_malformed_answers_are_refused_without_a_500(world: World) -> None:
    alice = await world.user("alice@example.com")
    start = await world.options(alice)
    junk: dict[str, Any]
    for junk in ({}, {"id": "x", "rawId": "x", "response": "nope"}, {"response": {}}):
        refused = await world.verify(alice, start["challenge_id"], junk)
        assert refused.status_code == 400
        start = await world.options(alice)
    for junk in ({}, {"id": 1}, {"id": "x", "rawId": "x", "response": {}, "type": "public-key"}):
        login = await world.login_options()
        refused = await world.login(login["challenge_id"], junk)
        assert refused.status_code == 401, refused.text
    unknown = await world.login("A" * 32, {})
    assert code(unknown) == "passkey_challenge_invalid"
    odd = await world.login("../../x", {})
    assert odd.status_code in (400, 422)


async def test_registration_options_exclude_the_users_passkeys(world: World) -> None:
    alice = await world.user("alice@example.com")
    cred, _ = await world.register(alice)
    options = (await world.options(alice))["options"]
    assert [c["id"] for c in options["excludeCredentials"]] == [b64url(cred.id)]
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["rp"]["id"] == "localhost"
    handle = world.kit.feature(PasskeysFeature).user_handle(1)
    assert options["user"]["id"] == b64url(handle)  # keyed: not the database id
    assert len(handle) == 32


async def test_login_verify_is_rate_limited_per_ip(database_url: str) -> None:
    kit = make(database_url, login_per_ip={"limit": 3, "window_seconds": 300})
    async with client_for(kit) as client:
        world = World(kit, client, SoftAuthenticator(ORIGIN))
        codes = [(await world.login("A" * 32, {})).status_code for _ in range(4)]
        assert codes == [400, 400, 400, 429]
    await kit.aclose()


async def test_passkeys_are_off_by_default_and_need_origins(
    database_url: str, make_kit: Any
) -> None:
    kit = await make_kit()
    async with client_for(kit) as client:
        assert (await client.post(f"{BASE}/login/options")).status_code == 404
    with pytest.raises(FeatureError, match="ORIGINS"):
        make(database_url, origins=[])


async def test_passkeys_need_a_login_session_not_an_api_key(world: World) -> None:
    assert (await world.client.post(f"{BASE}/register/options")).status_code == 401
    alice = await world.user("alice@example.com")
    _, record = await world.register(alice)
    key = key_header((await new_key(world.client, alice))["key"])
    assert (await world.client.post(f"{BASE}/register/options", headers=key)).status_code == 401
    assert (await world.client.get(BASE, headers=key)).status_code == 401
    removed = await world.client.delete(f"{BASE}/{record['id']}", headers=key)
    assert removed.status_code == 401
    assert len((await world.client.get(BASE, headers=alice)).json()) == 1


async def test_a_privacy_export_lists_passkeys_and_erasure_deletes_them(world: World) -> None:
    alice = await world.user("alice@example.com")
    bob = await world.user("bob@example.com")
    cred, record = await world.register(alice)
    await world.register(bob)
    exporter = next(e for e in world.kit.data_exporters() if e.name == "passkeys")
    exported = await exporter.export(1)
    assert [(p["id"], p["name"]) for p in exported] == [(record["id"], "Laptop")]
    assert "public_key" not in exported[0]
    assert isinstance(exported[0]["created_at"], str)
    eraser = next(e for e in world.kit.data_erasers() if e.name == "passkeys")
    assert await eraser.erase(1) == 1
    assert (await world.client.get(BASE, headers=alice)).json() == []
    assert len((await world.client.get(BASE, headers=bob)).json()) == 1
    assert (await world.login_with(cred)).status_code == 401


async def test_a_passkey_login_needs_no_code_step_with_2fa_on(world: World) -> None:
    """A passkey login verifies the user (PIN or biometric): two factors, no code step."""
    from saaskit.mfa import totp

    alice = await world.user("alice@example.com")
    cred, _ = await world.register(alice)
    setup = await world.client.post("/api/v1/mfa/totp/setup", headers=alice)
    secret = setup.json()["secret"]
    REGISTRY.add("TOTP secret", secret)
    step = totp.step_at(world.kit.mfa.clock())
    confirmed = await world.client.post(
        "/api/v1/mfa/totp/confirm", json={"code": totp.code_at(secret, step)}, headers=alice
    )
    assert confirmed.status_code == 200, confirmed.text
    # The password login of the same account does ask for the code.
    password = await world.client.post(
        "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert password.status_code == 403
    assert password.json()["error"]["code"] == "mfa_required"
    logged_in = await world.login_with(cred)
    assert logged_in.status_code == 200, logged_in.text
    assert logged_in.json()["access_token"]
    logins = [
        e.detail for e in await world.audit() if e.action == "login" and e.outcome == "success"
    ]
    assert logins[-1] == {"method": "passkey"}


async def test_two_answers_racing_for_one_challenge_log_in_once(world: World) -> None:
    alice = await world.user("alice@example.com")
    world.device.count_step = 0  # both answers would pass the counter check
    cred, _ = await world.register(alice)
    start = await world.login_options()
    answer = world.device.get(start["options"], cred)
    results = await asyncio.gather(*(world.login(start["challenge_id"], answer) for _ in range(5)))
    assert sorted(r.status_code for r in results) == [200, 400, 400, 400, 400]


async def test_the_number_of_passkeys_is_limited(database_url: str) -> None:
    kit = make(database_url, max_passkeys_per_user=1)
    async with client_for(kit) as client:
        world = World(kit, client, SoftAuthenticator(ORIGIN))
        alice = await world.user("alice@example.com")
        first = await world.options(alice)
        await world.register(alice)
        refused = await world.client.post(f"{BASE}/register/options", headers=alice)
        assert refused.status_code == 409
        assert code(refused) == "passkey_limit"
        # An options call made before the first passkey cannot go past the limit either.
        _, answer = world.device.create(first["options"])
        late = await world.verify(alice, first["challenge_id"], answer)
        assert code(late) == "passkey_limit"
    await kit.aclose()


async def test_concurrent_registrations_cannot_go_past_the_limit(database_url: str) -> None:
    """Five registrations verified at once, with room for two: two stored, three 409."""
    limit, attempts = 2, 5
    kit = make(database_url, max_passkeys_per_user=limit)
    async with client_for(kit) as client:
        world = World(kit, client, SoftAuthenticator(ORIGIN))
        alice = await world.user("alice@example.com")
        answers = []
        for _ in range(attempts):  # each options call sees no passkey yet
            start = await world.options(alice)
            answers.append((start["challenge_id"], world.device.create(start["options"])[1]))
        responses = await asyncio.gather(
            *(world.verify(alice, challenge_id, answer) for challenge_id, answer in answers)
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [201] * limit + [409] * (attempts - limit)
        assert all(code(r) == "passkey_limit" for r in responses if r.status_code == 409)
        listed = await world.client.get(BASE, headers=alice)
        assert len(listed.json()) == limit
    await kit.aclose()


async def test_a_challenge_expires(database_url: str) -> None:
    now = [1000.0]
    kit = make(database_url, store=MemoryStore(clock=lambda: now[0]), challenge_seconds=60)
    async with client_for(kit) as client:
        world = World(kit, client, SoftAuthenticator(ORIGIN))
        alice = await world.user("alice@example.com")
        start = await world.options(alice)
        _, answer = world.device.create(start["options"])
        assert start["options"]["timeout"] == 60_000
        now[0] += 61
        late = await world.verify(alice, start["challenge_id"], answer)
        assert code(late) == "passkey_challenge_invalid"
    await kit.aclose()


async def test_an_unverified_account_cannot_add_a_passkey(world: World) -> None:
    """Pre-account takeover: someone who registered the owner's address before them must
    not keep a passkey through the owner's password reset."""
    squatter = await world.user("victim@example.com", verified=False)
    refused = await world.client.post(f"{BASE}/register/options", headers=squatter)
    assert refused.status_code == 403
    assert code(refused) == "email_not_verified"
    answer = world.device.create(
        {"challenge": b64url(b"x" * 32), "rp": {"id": "localhost"}, "user": {"id": b64url(b"u")}}
    )
    verify = await world.verify(squatter, "a" * 20, answer[1])
    assert verify.status_code == 403
    assert code(verify) == "email_not_verified"
    assert (await world.client.get(BASE, headers=squatter)).json() == []


async def test_an_unverified_email_cannot_log_in_when_the_settings_require_it(
    database_url: str,
) -> None:
    kit = make(database_url)
    async with client_for(kit) as client:
        world = World(kit, client, SoftAuthenticator(ORIGIN))
        alice = await world.user("alice@example.com")
        cred, _ = await world.register(alice)
        user = await kit.users.get_by_email("alice@example.com")
        assert user is not None
        await kit.users.update(user.id, {"is_verified": False})
        kit.auth.settings.require_verified_login = True
        refused = await world.login_with(cred)
        assert refused.status_code == 403
        assert code(refused) == "email_not_verified"
    await kit.aclose()


def test_without_py_webauthn_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from saaskit.passkeys.service import load_webauthn

    monkeypatch.setitem(sys.modules, "webauthn", None)
    with pytest.raises(ImportError, match=r"pip install 'saaskit\[passkeys\]'"):
        load_webauthn()

"""A passkey completes a login's second step (403 ``mfa_required``) like a TOTP code: the
challenge is bound to that login's account, another account's passkey is refused, and a
completed challenge cannot be used again."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import PASSWORD
from tests.passkeys.authenticator import b64url
from tests.passkeys.helpers import BASE, World
from tests.secret_scan import REGISTRY


async def turn_on_totp(world: World, headers: dict[str, str]) -> None:
    from saaskit.mfa import totp

    setup = await world.client.post("/api/v1/mfa/totp/setup", headers=headers)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    REGISTRY.add("TOTP secret", secret)
    step = totp.step_at(world.kit.mfa.clock())
    confirmed = await world.client.post(
        "/api/v1/mfa/totp/confirm", json={"code": totp.code_at(secret, step)}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text


async def challenge_of(world: World, email: str) -> str:
    refused = await world.client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "mfa_required"
    token: str = error["challenge_token"]
    return token


async def options(world: World, token: str) -> httpx.Response:
    return await world.client.post(f"{BASE}/second-factor/options", json={"challenge_token": token})


async def verify(world: World, token: str, challenge_id: str, answer: Any) -> httpx.Response:
    return await world.client.post(
        f"{BASE}/second-factor/verify",
        json={"challenge_token": token, "challenge_id": challenge_id, "credential": answer},
    )


async def test_a_passkey_completes_the_second_step(world: World) -> None:
    alice = await world.user("alice@example.com")
    cred, _ = await world.register(alice)
    await turn_on_totp(world, alice)
    token = await challenge_of(world, "alice@example.com")

    start = await options(world, token)
    assert start.status_code == 200, start.text
    allowed = [c["id"] for c in start.json()["options"]["allowCredentials"]]
    assert allowed == [b64url(cred.id)]
    answer = world.device.get(start.json()["options"], cred)
    done = await verify(world, token, start.json()["challenge_id"], answer)
    assert done.status_code == 200, done.text
    me = await world.client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {done.json()['access_token']}"}
    )
    assert me.json()["email"] == "alice@example.com"
    logins = [
        e.detail for e in await world.audit() if e.action == "login" and e.outcome == "success"
    ]
    assert logins[-1] == {"method": "password+passkey"}

    # The challenge is spent: the same answer, or a fresh one, gets nothing.
    again = await verify(world, token, start.json()["challenge_id"], answer)
    assert again.status_code in (400, 401)
    assert (await options(world, token)).status_code == 401


async def test_another_accounts_passkey_is_refused(world: World) -> None:
    alice = await world.user("alice@example.com")
    await world.register(alice)
    await turn_on_totp(world, alice)
    mallory = await world.user("mallory@example.com")
    mallory_cred, _ = await world.register(mallory)
    token = await challenge_of(world, "alice@example.com")

    start = await options(world, token)
    answer = world.device.get(start.json()["options"], mallory_cred)
    refused = await verify(world, token, start.json()["challenge_id"], answer)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "passkey_login_failed"
    # Alice's login challenge is still hers to complete (nothing was issued to Mallory).
    assert (await options(world, token)).status_code == 200


async def test_a_challenge_id_of_another_login_is_refused(world: World) -> None:
    alice = await world.user("alice@example.com")
    alice_cred, _ = await world.register(alice)
    await turn_on_totp(world, alice)
    bob = await world.user("bob@example.com")
    await world.register(bob)
    await turn_on_totp(world, bob)
    alice_token = await challenge_of(world, "alice@example.com")
    bob_token = await challenge_of(world, "bob@example.com")

    bob_start = await options(world, bob_token)
    alice_start = await options(world, alice_token)
    answer = world.device.get(alice_start.json()["options"], alice_cred)
    # Alice's answer sent with the challenge id of Bob's login: refused, and it stays unspent.
    crossed = await verify(world, alice_token, bob_start.json()["challenge_id"], answer)
    assert crossed.status_code == 400
    assert crossed.json()["error"]["code"] == "passkey_challenge_invalid"
    done = await verify(world, alice_token, alice_start.json()["challenge_id"], answer)
    assert done.status_code == 200, done.text


async def test_an_account_without_a_passkey_gets_404(world: World) -> None:
    alice = await world.user("alice@example.com")
    await turn_on_totp(world, alice)
    token = await challenge_of(world, "alice@example.com")
    missing = await options(world, token)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "passkey_not_found"
    unknown = await options(world, "x" * 40)
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "mfa_challenge_invalid"

"""End to end: enroll, log in with a code, with a recovery code, disable."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from saaskit import SaaSKit
from tests.helpers import PASSWORD, bearer
from tests.mfa.helpers import (
    LOGIN,
    ME,
    MFA,
    TOKEN,
    Clock,
    challenge,
    code_of,
    enroll,
    verify,
    wrong_code,
)


async def actions(kit: SaaSKit[Any]) -> list[str]:
    model = kit.models.audit_event
    async with kit.session_factory() as db:
        rows = (await db.execute(select(model.action, model.outcome).order_by(model.id))).all()
    return [f"{action}:{outcome}" for action, outcome in rows]


async def test_enroll_then_code_then_recovery_code_then_disable(
    kit: SaaSKit[Any], client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    status = await client.get(MFA, headers=user.headers)
    assert status.json()["enabled"] is True
    assert status.json()["recovery_codes_remaining"] == 10
    assert len(set(user.recovery_codes)) == 10

    # A password login now answers a challenge, not tokens.
    token = await challenge(client, user.email)
    done = await verify(client, token, code=user.code(clock))
    assert done.status_code == 200, done.text
    assert done.headers["cache-control"] == "no-store"
    me = await client.get(ME, headers=bearer(done.json()["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == user.email

    # A recovery code works once.
    token = await challenge(client, user.email)
    spent = user.recovery_codes[0]
    done = await verify(client, token, recovery_code=spent.upper().replace("-", " "))
    assert done.status_code == 200, done.text
    again = await verify(client, await challenge(client, user.email), recovery_code=spent)
    assert again.status_code == 401
    assert code_of(again) == "mfa_code_invalid"
    status = await client.get(MFA, headers=bearer(done.json()["access_token"]))
    assert status.json()["recovery_codes_remaining"] == 9

    # Disable: the current password and a code.
    headers = bearer(done.json()["access_token"])
    clock.next_step()
    off = await client.post(
        f"{MFA}/disable", json={"password": PASSWORD, "code": user.code(clock)}, headers=headers
    )
    assert off.status_code == 204, off.text
    plain = await client.post(LOGIN, json={"email": user.email, "password": PASSWORD})
    assert plain.status_code == 200
    assert (await client.get(MFA, headers=headers)).json() == {
        "enabled": False,
        "confirmed_at": None,
        "recovery_codes_remaining": 0,
    }

    trail = await actions(kit)
    for expected in (
        "mfa_enrollment_started:success",
        "mfa_enabled:success",
        "mfa_recovery_code_used:success",
        "mfa_verify:failure",
        "mfa_disabled:success",
    ):
        assert expected in trail
    model = kit.models.audit_event
    async with kit.session_factory() as db:
        methods = (await db.scalars(select(model.detail).where(model.action == "login"))).all()
    assert {"method": "password+totp"} in methods
    assert {"method": "password+recovery_code"} in methods


async def test_the_oauth2_token_endpoint_answers_mfa_required(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    form = {"grant_type": "password", "username": user.email, "password": PASSWORD}
    response = await client.post(TOKEN, data=form)
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "mfa_required"
    assert response.headers["cache-control"] == "no-store"
    assert "access_token" not in body
    done = await verify(client, body["mfa_token"], code=user.code(clock))
    assert done.status_code == 200, done.text


async def test_a_wrong_password_never_reaches_the_second_step(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    response = await client.post(LOGIN, json={"email": user.email, "password": "wrong" * 3})
    assert response.status_code == 401
    assert "challenge_token" not in response.json()["error"]


async def test_setup_before_confirming_changes_nothing(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    from tests.helpers import signed_up

    tokens = await signed_up(client, "bob@example.com")
    headers = bearer(tokens["access_token"])
    setup = await client.post(f"{MFA}/totp/setup", headers=headers)
    body = setup.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/saaskit:bob@example.com?secret=")
    assert body["qr_svg"].startswith("<svg")
    # Not confirmed: the login still gives tokens.
    plain = await client.post(LOGIN, json={"email": "bob@example.com", "password": PASSWORD})
    assert plain.status_code == 200
    wrong = await client.post(
        f"{MFA}/totp/confirm", json={"code": wrong_code(body["secret"], clock)}, headers=headers
    )
    assert wrong.status_code == 401
    assert code_of(wrong) == "mfa_code_invalid"
    assert (await client.get(MFA, headers=headers)).json()["enabled"] is False


async def test_confirming_without_a_setup_is_a_conflict(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    from tests.helpers import signed_up

    tokens = await signed_up(client, "carol@example.com")
    response = await client.post(
        f"{MFA}/totp/confirm", json={"code": "123456"}, headers=bearer(tokens["access_token"])
    )
    assert response.status_code == 409
    assert code_of(response) == "mfa_enrollment_missing"


async def test_setup_while_enabled_is_a_conflict(client: httpx.AsyncClient, clock: Clock) -> None:
    user = await enroll(client, clock)
    response = await client.post(f"{MFA}/totp/setup", headers=user.headers)
    assert response.status_code == 409
    assert code_of(response) == "mfa_already_enabled"


async def test_regenerating_codes_replaces_the_old_ones(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    fresh = await client.post(
        f"{MFA}/recovery-codes",
        json={"password": PASSWORD, "code": user.code(clock)},
        headers=user.headers,
    )
    assert fresh.status_code == 200, fresh.text
    new_codes = fresh.json()["recovery_codes"]
    assert not set(new_codes) & set(user.recovery_codes)
    old = await verify(
        client, await challenge(client, user.email), recovery_code=user.recovery_codes[1]
    )
    assert old.status_code == 401
    new = await verify(client, await challenge(client, user.email), recovery_code=new_codes[0])
    assert new.status_code == 200


async def test_disable_needs_the_password_and_a_code(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    no_password = await client.post(
        f"{MFA}/disable",
        json={"password": "not-the-password", "code": user.code(clock)},
        headers=user.headers,
    )
    assert no_password.status_code == 401
    assert code_of(no_password) == "invalid_credentials"
    wrong = wrong_code(user.secret, clock)
    no_code = await client.post(
        f"{MFA}/disable", json={"password": PASSWORD, "code": wrong}, headers=user.headers
    )
    assert no_code.status_code == 401
    assert code_of(no_code) == "mfa_code_invalid"
    neither = await client.post(f"{MFA}/disable", json={"password": PASSWORD}, headers=user.headers)
    assert neither.status_code == 422
    assert (await client.get(MFA, headers=user.headers)).json()["enabled"] is True


async def test_switched_off_the_login_asks_nothing(database_url: str, clock: Clock) -> None:
    from tests.helpers import client_for
    from tests.mfa.conftest import make

    on = make(database_url, clock)
    async with client_for(on) as c:
        user = await enroll(c, clock)
    await on.aclose()
    off = make(database_url, clock, enabled=False)
    async with client_for(off) as c:
        plain = await c.post(LOGIN, json={"email": user.email, "password": PASSWORD})
        assert plain.status_code == 200
        assert (await c.get(MFA, headers=user.headers)).status_code == 404
    await off.aclose()

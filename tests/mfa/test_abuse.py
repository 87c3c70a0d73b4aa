"""Abuse cases: replay, a challenge as a bearer token, brute force, reuse, races."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.settings import RateLimit
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


async def test_a_code_is_accepted_once(client: httpx.AsyncClient, clock: Clock) -> None:
    user = await enroll(client, clock)
    code = user.code(clock)
    first = await verify(client, await challenge(client, user.email), code=code)
    assert first.status_code == 200
    replay = await verify(client, await challenge(client, user.email), code=code)
    assert replay.status_code == 401
    assert code_of(replay) == "mfa_code_invalid"


async def test_a_code_older_than_the_last_accepted_one_is_refused(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    previous = user.code(clock, -1)  # within the skew, but older than...
    newer = await verify(client, await challenge(client, user.email), code=user.code(clock))
    assert newer.status_code == 200  # ...this one, accepted first
    older = await verify(client, await challenge(client, user.email), code=previous)
    assert older.status_code == 401


async def test_skew_is_one_step_either_way(client: httpx.AsyncClient, clock: Clock) -> None:
    user = await enroll(client, clock)
    clock.next_step()
    clock.next_step()
    late = await verify(client, await challenge(client, user.email), code=user.code(clock, -1))
    assert late.status_code == 200
    clock.next_step()
    clock.next_step()
    too_late = await verify(client, await challenge(client, user.email), code=user.code(clock, -2))
    assert too_late.status_code == 401
    too_early = await verify(client, await challenge(client, user.email), code=user.code(clock, 2))
    assert too_early.status_code == 401
    early = await verify(client, await challenge(client, user.email), code=user.code(clock, 1))
    assert early.status_code == 200


async def test_the_same_code_twice_at_once_works_once(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    tokens = [await challenge(client, user.email) for _ in range(2)]
    code = user.code(clock)
    answers = await asyncio.gather(*(verify(client, t, code=code) for t in tokens))
    assert sorted(a.status_code for a in answers) == [200, 401]


async def test_a_challenge_is_no_bearer_token(client: httpx.AsyncClient, clock: Clock) -> None:
    user = await enroll(client, clock)
    token = await challenge(client, user.email)
    for url in (ME, MFA, "/api/v1/auth/sessions", "/api/v1/api-keys"):
        refused = await client.get(url, headers=bearer(token))
        assert refused.status_code == 401, url
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": token})
    assert refresh.status_code == 401
    grant = await client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": token})
    assert grant.status_code == 400
    assert grant.json()["error"] == "invalid_grant"
    # Still usable for what it is for.
    assert (await verify(client, token, code=user.code(clock))).status_code == 200


async def test_a_challenge_works_once(client: httpx.AsyncClient, clock: Clock) -> None:
    user = await enroll(client, clock)
    token = await challenge(client, user.email)
    assert (await verify(client, token, code=user.code(clock))).status_code == 200
    clock.next_step()
    reused = await verify(client, token, code=user.code(clock))
    assert reused.status_code == 401
    assert code_of(reused) == "mfa_challenge_invalid"


async def test_one_challenge_completed_twice_at_once_gives_one_session(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    token = await challenge(client, user.email)
    answers = await asyncio.gather(
        verify(client, token, code=user.code(clock)),
        verify(client, token, recovery_code=user.recovery_codes[0]),
    )
    assert sorted(a.status_code for a in answers) == [200, 401]


async def test_the_loser_of_a_race_for_one_challenge_spends_no_recovery_code(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    token = await challenge(client, user.email)
    first, second = user.recovery_codes[0], user.recovery_codes[1]
    answers = await asyncio.gather(
        verify(client, token, recovery_code=first),
        verify(client, token, recovery_code=second),
    )
    assert sorted(a.status_code for a in answers) == [200, 401]
    assert [code_of(a) for a in answers if a.status_code == 401] == ["mfa_challenge_invalid"]
    state = await client.get(MFA, headers=user.headers)
    assert state.json()["recovery_codes_remaining"] == len(user.recovery_codes) - 1
    # The loser's code was not spent: it completes the next login.
    unspent = first if answers[0].status_code == 401 else second
    later = await verify(client, await challenge(client, user.email), recovery_code=unspent)
    assert later.status_code == 200


async def test_the_loser_of_a_race_for_one_challenge_spends_no_totp_step(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    token = await challenge(client, user.email)
    # Two valid codes (this step and the next, within the skew) race for one challenge.
    answers = await asyncio.gather(
        verify(client, token, code=user.code(clock)),
        verify(client, token, code=user.code(clock, 1)),
    )
    assert sorted(a.status_code for a in answers) == [200, 401]
    if answers[0].status_code == 401:  # the newer step won: the older one is spent with it
        return
    # The older step won: the loser's newer step was not spent and completes the next login.
    later = await verify(client, await challenge(client, user.email), code=user.code(clock, 1))
    assert later.status_code == 200


async def test_a_recovery_code_used_twice_at_once_works_once(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    tokens = [await challenge(client, user.email) for _ in range(2)]
    code = user.recovery_codes[3]
    answers = await asyncio.gather(*(verify(client, t, recovery_code=code) for t in tokens))
    assert sorted(a.status_code for a in answers) == [200, 401]
    assert [code_of(a) for a in answers if a.status_code == 401] == ["mfa_code_invalid"]


async def test_wrong_codes_burn_the_challenge(client: httpx.AsyncClient, clock: Clock) -> None:
    user = await enroll(client, clock)
    token = await challenge(client, user.email)
    wrong = wrong_code(user.secret, clock)
    for _ in range(5):  # attempts_per_challenge
        assert code_of(await verify(client, token, code=wrong)) == "mfa_code_invalid"
    burned = await verify(client, token, code=user.code(clock))
    assert burned.status_code == 401
    assert code_of(burned) == "mfa_challenge_invalid"


async def test_guessing_across_challenges_hits_the_account_limit(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await enroll(client, clock)
    wrong = wrong_code(user.secret, clock)
    answers = []
    for _ in range(3):  # new challenges do not reset the account's count
        token = await challenge(client, user.email)
        for _ in range(5):
            answers.append(await verify(client, token, code=wrong))
    statuses = [a.status_code for a in answers]
    assert statuses[:10] == [401] * 10  # attempts_per_account: 10 per 15 minutes
    assert set(statuses[10:]) == {429}
    assert "retry-after" in answers[-1].headers
    # Even the right code waits now.
    blocked = await verify(client, await challenge(client, user.email), code=user.code(clock))
    assert blocked.status_code == 429


async def test_the_ip_limit_covers_many_accounts(database_url: str, clock: Clock) -> None:
    from tests.helpers import client_for
    from tests.mfa.conftest import make

    kit: SaaSKit[Any] = make(
        database_url, clock, attempts_per_ip=RateLimit(limit=4, window_seconds=60)
    )
    async with client_for(kit) as client:
        users = [await enroll(client, clock, f"u{i}@example.com") for i in range(2)]
        statuses = []
        for user in users:
            token = await challenge(client, user.email)
            for _ in range(2):
                answer = await verify(client, token, code=wrong_code(user.secret, clock))
                statuses.append(answer.status_code)
    await kit.aclose()
    # The two confirmations counted too: 2 + 2 checks, then the IP waits, whoever it guesses for.
    assert statuses == [401, 401, 429, 429]


async def test_enrolling_needs_a_recent_password(
    kit: SaaSKit[Any], client: httpx.AsyncClient, clock: Clock
) -> None:
    from tests.helpers import signed_up

    tokens = await signed_up(client, "dave@example.com")
    headers = bearer(tokens["access_token"])
    sessions = await kit.sessions.for_user((await kit.users.get_by_email("dave@example.com")).id)  # type: ignore[union-attr]
    session = sessions[0]
    session.authenticated_at -= 3600  # an hour ago: a stolen token, not a fresh login
    assert await kit.sessions.save(session)
    refused = await client.post(f"{MFA}/totp/setup", headers=headers)
    assert refused.status_code == 403
    assert code_of(refused) == "reauthentication_required"


async def test_api_keys_cannot_manage_2fa(client: httpx.AsyncClient, clock: Clock) -> None:
    user = await enroll(client, clock)
    created = await client.post(
        "/api/v1/api-keys", json={"name": "ci", "scopes": []}, headers=user.headers
    )
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    from tests.secret_scan import REGISTRY

    REGISTRY.add("API key", created.json()["key"])
    for method, url in (("GET", MFA), ("POST", f"{MFA}/recovery-codes")):
        answer = await client.request(
            method, url, headers=key, json={"password": PASSWORD, "code": user.code(clock)}
        )
        assert answer.status_code == 401, url


@pytest.mark.parametrize("body", [{"code": "12345"}, {"code": "abcdef"}, {}])
async def test_malformed_proofs_are_422(
    client: httpx.AsyncClient, clock: Clock, body: dict[str, str]
) -> None:
    user = await enroll(client, clock)
    token = await challenge(client, user.email)
    answer = await verify(client, token, **body)
    assert answer.status_code == 422
    assert PASSWORD not in answer.text


async def test_a_login_without_2fa_is_unchanged(client: httpx.AsyncClient) -> None:
    from tests.helpers import register

    assert (await register(client, "erin@example.com")).status_code == 201
    response = await client.post(LOGIN, json={"email": "erin@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert "access_token" in response.json()

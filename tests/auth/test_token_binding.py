"""An access token is bound to its session's user: a live session id never lends its
identity to a token that names someone else (forged with the signing key, or minted by a
bug), and a session id that is not one never reaches a store key."""

from __future__ import annotations

import httpx

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import PASSWORD, bearer, login, signed_up

ME = "/api/v1/users/me"


async def test_a_token_naming_another_user_with_my_session_is_refused(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    alice = await signed_up(client, "alice@example.com")
    root = await kit.users.create("root@example.com", PASSWORD, is_superuser=True)
    mine = kit.tokens.decode(alice["access_token"], "access")
    forged, _ = kit.tokens.issue("access", user_id=root.id, session_id=mine.session_id)

    as_admin = await client.get("/api/v1/users", headers=bearer(forged))
    as_me = await client.get(ME, headers=bearer(forged))

    assert as_admin.status_code == 401
    assert as_admin.json()["error"]["code"] == "invalid_token"
    assert as_me.status_code == 401
    # Alice's own token still works: the check refuses the mismatch, not the session.
    assert (await client.get(ME, headers=bearer(alice["access_token"]))).status_code == 200


async def test_the_binding_is_checked_on_every_request_not_only_the_first(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    # Verified tokens are remembered per process; the binding must not be skipped then.
    alice = await signed_up(client, "alice@example.com")
    bob = await kit.users.create("bob@example.com", PASSWORD)
    sid = kit.tokens.decode(alice["access_token"], "access").session_id
    forged, _ = kit.tokens.issue("access", user_id=bob.id, session_id=sid)

    statuses = [(await client.get(ME, headers=bearer(forged))).status_code for _ in range(3)]

    assert statuses == [401, 401, 401]


async def test_a_forged_token_cannot_log_out_or_list_another_users_sessions(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    alice = await signed_up(client, "alice@example.com")
    await kit.users.create("bob@example.com", PASSWORD)
    bob_tokens = await login(client, "bob@example.com")
    bob_id = kit.tokens.decode(bob_tokens["access_token"], "access").user_id
    sid = kit.tokens.decode(alice["access_token"], "access").session_id
    forged, _ = kit.tokens.issue("access", user_id=bob_id, session_id=sid)

    listed = await client.get("/api/v1/auth/sessions", headers=bearer(forged))
    logout_all = await client.post("/api/v1/auth/logout-all", headers=bearer(forged))

    assert listed.status_code == 401
    assert logout_all.status_code == 401
    assert (await client.get(ME, headers=bearer(bob_tokens["access_token"]))).status_code == 200


async def test_a_session_id_that_is_not_one_is_not_found_never_500(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    tokens = await signed_up(client)
    sid = kit.tokens.decode(tokens["access_token"], "access").session_id

    for bad in (f"{sid}:rt", f"{sid}:prev", sid.upper(), "x" * 32, "%00"):
        response = await client.delete(
            f"/api/v1/auth/sessions/{bad}", headers=bearer(tokens["access_token"])
        )
        assert response.status_code == 404, (bad, response.text)
        assert response.json()["error"]["code"] == "session_not_found"
    assert (await client.get(ME, headers=bearer(tokens["access_token"]))).status_code == 200


async def test_a_signed_token_whose_sid_is_not_a_session_id_is_refused(
    client: httpx.AsyncClient, kit: SaaSKit[User]
) -> None:
    tokens = await signed_up(client)
    claims = kit.tokens.decode(tokens["access_token"], "access")
    forged, _ = kit.tokens.issue(
        "access", user_id=claims.user_id, session_id=f"{claims.session_id}:rt"
    )

    response = await client.get(ME, headers=bearer(forged))

    assert response.status_code == 401

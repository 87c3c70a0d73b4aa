"""Impersonation: a superuser acts as a user, with limits, an end and an audit trail."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select

from saaskit.auth.dependencies import Authenticate
from saaskit.auth.tokens import ALGORITHM
from saaskit.signing_key import signing_key
from tests.helpers import PASSWORD, bearer, build_app
from tests.impersonation.conftest import START, Scene

END = f"{START}/end"


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


async def events(scene: Scene, action: str | None = None) -> list[Any]:
    table = scene.kit.models.audit_event
    query = select(table).order_by(table.id)
    if action is not None:
        query = query.where(table.action == action)
    async with scene.kit.session_factory() as db:
        return list(await db.scalars(query))


async def test_a_superuser_gets_a_short_token_pair_naming_them_in_act(scene: Scene) -> None:
    started = await scene.impersonate()

    access, refresh = claims(started["access_token"]), claims(started["refresh_token"])
    assert access["sub"] == refresh["sub"] == str(scene.user_id)
    assert access["act"] == refresh["act"] == {"sub": str(scene.admin_id)}
    ttl = scene.kit.feature("impersonation").ttl_seconds
    assert refresh["exp"] - refresh["iat"] <= ttl == 30 * 60
    assert started["impersonator_id"] == scene.admin_id
    me = await scene.client.get("/api/v1/users/me", headers=bearer(started["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "alice@example.com"


async def test_the_user_sees_the_impersonation_in_their_sessions(scene: Scene) -> None:
    started = await scene.impersonate()

    listed = (await scene.client.get("/api/v1/auth/sessions", headers=scene.user)).json()

    by_id = {s["id"]: s for s in listed}
    assert by_id[started["session_id"]]["impersonated_by"] == scene.admin_id
    assert [s["impersonated_by"] for s in listed if s["current"]] == [None]


async def test_the_start_is_audited_with_the_reason_and_both_people(scene: Scene) -> None:
    started = await scene.impersonate("ticket #7")

    [event] = await events(scene, "impersonation_started")
    assert (event.outcome, event.actor_id, event.target_id, event.impersonator_id) == (
        "success",
        scene.admin_id,
        scene.user_id,
        scene.admin_id,
    )
    assert event.detail["reason"] == "ticket #7"
    assert event.detail["session_id"] == started["session_id"]


async def test_a_reason_is_required(scene: Scene) -> None:
    for body in ({"user_id": scene.user_id}, {"user_id": scene.user_id, "reason": ""}):
        response = await scene.client.post(START, json=body, headers=scene.admin)
        assert response.status_code == 422


async def test_non_superusers_get_403_and_anonymous_callers_401(scene: Scene) -> None:
    body = {"user_id": scene.admin_id, "reason": "takeover"}

    as_user = await scene.client.post(START, json=body, headers=scene.user)
    anonymous = await scene.client.post(START, json=body)

    assert as_user.status_code == 403
    assert as_user.json()["error"]["code"] == "permission_denied"
    assert anonymous.status_code == 401
    assert await events(scene, "impersonation_started") == []


async def test_starting_needs_a_recent_login_of_the_superuser(scene: Scene) -> None:
    # A superuser's access token stolen from a session whose login is an hour old.
    (session,) = await scene.kit.sessions.for_user(scene.admin_id)
    session.authenticated_at -= 3600
    assert await scene.kit.sessions.save(session)
    body = {"user_id": scene.user_id, "reason": "ticket #42"}

    stale = await scene.client.post(START, json=body, headers=scene.admin)
    assert stale.status_code == 403
    assert stale.json()["error"]["code"] == "reauthentication_required"
    assert await events(scene, "impersonation_started") == []

    proof = await scene.client.post(
        "/api/v1/auth/reauthenticate", json={"password": PASSWORD}, headers=scene.admin
    )
    assert proof.status_code == 200, proof.text
    assert (await scene.client.post(START, json=body, headers=scene.admin)).status_code == 201


async def test_a_superuser_or_an_inactive_user_cannot_be_impersonated(scene: Scene) -> None:
    other = await scene.kit.users.create("root2@example.com", PASSWORD, is_superuser=True)
    idle = await scene.kit.users.create("idle@example.com", PASSWORD)
    await scene.kit.users.update(idle.id, {"is_active": False})

    for target in (other.id, idle.id, scene.admin_id):
        response = await scene.client.post(
            START, json={"user_id": target, "reason": "why not"}, headers=scene.admin
        )
        assert response.status_code == 403, target
        assert response.json()["error"]["code"] == "impersonation_not_allowed"
    missing = await scene.client.post(
        START, json={"user_id": 99999, "reason": "why not"}, headers=scene.admin
    )
    assert missing.status_code == 404
    failures = await events(scene, "impersonation_started")
    assert [(e.outcome, e.target_id) for e in failures] == [
        ("failure", other.id),
        ("failure", idle.id),
        ("failure", scene.admin_id),
    ]


def _refusing(app: FastAPI) -> dict[str, tuple[str, str]]:
    """Every route whose credential dependency refuses impersonation tokens."""

    def refuses(dependant: Any) -> bool:
        for sub in dependant.dependencies:
            auth = getattr(sub.call, "__saaskit_authenticator__", None)
            if isinstance(auth, Authenticate) and not auth.impersonation:
                return True
            if refuses(sub):
                return True
        return False

    found: dict[str, tuple[str, str]] = {}
    for route in _routes(app.routes):
        if refuses(route.dependant):
            for method in route.methods:
                found[f"{route.name} {method}"] = (method, route.path_format)
    return found


def _routes(routes: Any) -> list[Any]:
    """The app's routes, through included routers (FastAPI keeps them nested)."""
    flat: list[Any] = []
    for route in routes:
        if isinstance(route, APIRoute):
            flat.append(route)
        elif hasattr(route, "effective_route_contexts"):
            flat.extend(
                context
                for context in route.effective_route_contexts()
                if getattr(context, "dependant", None) is not None
            )
    return flat


OWNER_ONLY = {
    # The password, the email, the account, re-authentication.
    "users:change_password POST",
    "users:change_email POST",
    "users:delete_me DELETE",
    "auth:reauthenticate POST",
    # API keys, personal and organization.
    "api_keys:create POST",
    "api_keys:list GET",
    "api_keys:rename PATCH",
    "api_keys:revoke DELETE",
    "api_keys:create_org POST",
    "api_keys:list_org GET",
    "api_keys:rename_org PATCH",
    "api_keys:revoke_org DELETE",
    # Billing changes.
    "billing:checkout POST",
    "billing:portal GET",
    "billing:preview_change POST",
    "billing:change_plan POST",
    "billing:cancel POST",
    "billing:resume POST",
    "billing:sync POST",
    # Deleting an organization (it cancels its subscription), handing it over.
    "orgs:delete DELETE",
    "orgs:transfer POST",
    # Second factors.
    "mfa:status GET",
    "mfa:totp_setup POST",
    "mfa:totp_confirm POST",
    "mfa:disable POST",
    "mfa:regenerate_recovery_codes POST",
    # The user's data export and account deletion.
    "privacy:request_export POST",
    "privacy:list_exports GET",
    "privacy:get_export GET",
    "privacy:download_export GET",
    "privacy:delete_account POST",
    # Administration, and another impersonation.
    "impersonation:start POST",
    "users:list GET",
    "users:get GET",
    "users:update PATCH",
    "users:delete DELETE",
    "audit:list GET",
}


async def test_every_owner_only_route_refuses_an_impersonation_token(scene: Scene) -> None:
    routes = _refusing(build_app(scene.kit))
    missing = OWNER_ONLY - set(routes)
    assert not missing, f"these routes accept impersonation tokens: {sorted(missing)}"
    token = bearer((await scene.impersonate())["access_token"])
    values = {
        "user_id": str(scene.user_id),
        "org_id": "1",
        "key_id": "abcdefghijkl",
        "export_id": "1",
        "provider": "github",
        "session_id": "0" * 32,
    }

    for name, (method, path) in sorted(routes.items()):
        url = path.format(**values)
        response = await scene.client.request(method, url, json={}, headers=token)
        assert response.status_code == 403, (name, response.text)
        assert response.json()["error"]["code"] == "impersonation_forbidden", name


async def test_the_password_email_keys_and_billing_stay_unchanged(scene: Scene) -> None:
    token = bearer((await scene.impersonate())["access_token"])
    client = scene.client

    refused = [
        await client.post(
            "/api/v1/users/me/password",
            json={"current_password": PASSWORD, "new_password": "Brand-new-pass-42"},
            headers=token,
        ),
        await client.post(
            "/api/v1/users/me/email", json={"email": "mallory@example.com"}, headers=token
        ),
        await client.post(
            "/api/v1/auth/reauthenticate", json={"password": PASSWORD}, headers=token
        ),
        await client.post("/api/v1/api-keys", json={"name": "mine", "scopes": []}, headers=token),
        await client.post(
            "/api/v1/billing/create-checkout-session",
            json={"plan": "pro", "success_url": "https://app.example.com/ok"},
            headers=token,
        ),
        await client.post(START, json={"user_id": scene.user_id, "reason": "x" * 5}, headers=token),
    ]

    assert [r.status_code for r in refused] == [403] * len(refused)
    assert {r.json()["error"]["code"] for r in refused} == {"impersonation_forbidden"}
    user = await scene.kit.users.get(scene.user_id)
    assert user is not None
    assert user.email == "alice@example.com"
    ok, _ = await scene.kit.passwords.verify(PASSWORD, user.hashed_password)
    assert ok
    keys = await client.get("/api/v1/api-keys", headers=scene.user)
    assert keys.json() == []


async def test_writes_made_with_the_token_name_both_people(scene: Scene) -> None:
    token = bearer((await scene.impersonate())["access_token"])

    changed = await scene.client.patch(
        "/api/v1/users/me", json={"full_name": "Alice B."}, headers=token
    )
    refused = await scene.client.post(
        "/api/v1/users/me/email", json={"email": "m@example.com"}, headers=token
    )

    assert changed.status_code == 200
    assert refused.status_code == 403
    [updated] = await events(scene, "user_updated")
    assert (updated.actor_id, updated.impersonator_id) == (scene.user_id, scene.admin_id)
    writes = await events(scene, "impersonation_request")
    assert [
        (e.detail["method"], e.detail["path"], e.detail["status"], e.outcome) for e in writes
    ] == [
        ("PATCH", "/api/v1/users/me", 200, "success"),
        ("POST", "/api/v1/users/me/email", 403, "failure"),
    ]
    assert {(e.actor_id, e.target_id, e.impersonator_id) for e in writes} == {
        (scene.user_id, scene.user_id, scene.admin_id)
    }
    # Reads are not audited one by one; the user's own writes carry no impersonator.
    await scene.client.get("/api/v1/users/me", headers=token)
    await scene.client.patch("/api/v1/users/me", json={"full_name": "Alice"}, headers=scene.user)
    assert len(await events(scene, "impersonation_request")) == 2
    own = (await events(scene, "user_updated"))[-1]
    assert (own.actor_id, own.impersonator_id) == (scene.user_id, None)


async def test_the_audit_api_finds_events_by_the_impersonator(scene: Scene) -> None:
    token = bearer((await scene.impersonate())["access_token"])
    await scene.client.patch("/api/v1/users/me", json={"full_name": "B"}, headers=token)

    page = await scene.client.get(
        "/api/v1/audit", params={"user_id": scene.admin_id}, headers=scene.admin
    )

    actions = [e["action"] for e in page.json()["items"]]
    assert {"impersonation_started", "user_updated", "impersonation_request"} <= set(actions)
    assert all(
        e["impersonator_id"] == scene.admin_id
        for e in page.json()["items"]
        if e["action"] in {"user_updated", "impersonation_request"}
    )


async def test_ending_revokes_the_pair_and_is_audited(scene: Scene) -> None:
    started = await scene.impersonate()
    token = bearer(started["access_token"])

    ended = await scene.client.post(END, headers=token)

    assert ended.status_code == 204
    assert (await scene.client.get("/api/v1/users/me", headers=token)).status_code == 401
    refresh = await scene.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": started["refresh_token"]}
    )
    assert refresh.status_code == 401
    [event] = await events(scene, "impersonation_ended")
    assert (event.actor_id, event.target_id, event.impersonator_id) == (
        scene.admin_id,
        scene.user_id,
        scene.admin_id,
    )
    assert event.detail["session_id"] == started["session_id"]


async def test_only_an_impersonation_token_ends_an_impersonation(scene: Scene) -> None:
    response = await scene.client.post(END, headers=scene.user)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_impersonating"


@pytest.mark.parametrize("change", [{"is_superuser": False}, {"is_active": False}])
async def test_a_demoted_or_deactivated_superuser_s_tokens_stop(
    scene: Scene, change: dict[str, bool]
) -> None:
    started = await scene.impersonate()
    token = bearer(started["access_token"])
    assert (await scene.client.get("/api/v1/users/me", headers=token)).status_code == 200

    await scene.kit.users.update(scene.admin_id, change)

    assert (await scene.client.get("/api/v1/users/me", headers=token)).status_code == 401
    refresh = await scene.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": started["refresh_token"]}
    )
    assert refresh.status_code == 401


def _forge(scene: Scene, token: str, **changes: Any) -> str:
    payload = {**claims(token), **changes}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, signing_key(scene.kit.settings), ALGORITHM)


async def test_a_tampered_act_claim_is_refused(scene: Scene) -> None:
    other = await scene.kit.users.create("root2@example.com", PASSWORD, is_superuser=True)
    started = await scene.impersonate()
    own = (
        await scene.client.post(
            "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
        )
    ).json()["access_token"]
    token = started["access_token"]
    head, body, signature = token.split(".")

    forged = [
        # The act changed without the key: the signature no longer matches.
        ".".join([head, body[:-2] + ("AA" if body[-2:] != "AA" else "BB"), signature]),
        # With the key (a leaked one): another superuser, no act, or an act on a login.
        _forge(scene, token, act={"sub": str(other.id)}),
        _forge(scene, token, act=None),
        _forge(scene, own, act={"sub": str(scene.admin_id)}),
        _forge(scene, token, act={"sub": str(scene.admin_id), "act": {"sub": "1"}}),
        _forge(scene, token, act=str(scene.admin_id)),
    ]

    for bad in forged:
        response = await scene.client.get("/api/v1/users/me", headers=bearer(bad))
        assert response.status_code == 401, bad


async def test_refreshing_never_outlives_the_impersonation(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = await scene.impersonate()
    ends = claims(started["refresh_token"])["exp"]

    renewed = await scene.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": started["refresh_token"]}
    )
    assert renewed.status_code == 200
    assert claims(renewed.json()["refresh_token"])["exp"] == ends
    assert claims(renewed.json()["access_token"])["exp"] <= ends
    assert claims(renewed.json()["access_token"])["act"] == {"sub": str(scene.admin_id)}

    # One second past the end (the clocks of the session code and of PyJWT).
    later = ends + 1

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.fromtimestamp(later, tz or UTC)

    monkeypatch.setattr(time, "time", lambda: float(later))
    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)
    again = await scene.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": renewed.json()["refresh_token"]}
    )
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "invalid_token"


async def test_deactivating_the_user_ends_the_impersonation(scene: Scene) -> None:
    token = bearer((await scene.impersonate())["access_token"])

    await scene.kit.users.update(scene.user_id, {"is_active": False}, actor_id=scene.admin_id)

    assert (await scene.client.get("/api/v1/users/me", headers=token)).status_code == 401

"""``POST /auth/token`` follows RFC 6749 for the password and refresh_token grants, and
is no weaker than ``/auth/login`` and ``/auth/refresh``: the same rate limits, rotation and
reuse detection (one set of counters and sessions for both), no account oracle, nothing
cacheable, no secret in an error or a log line."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import PASSWORD, KitFactory, bearer, client_for, register, signed_up

TOKEN = "/api/v1/auth/token"
ME = "/api/v1/users/me"
OAUTH_ERRORS = {
    "invalid_request",
    "invalid_grant",
    "invalid_scope",
    "unsupported_grant_type",
    "temporarily_unavailable",
}


def password_grant(email: str = "alice@example.com", password: str = PASSWORD) -> dict[str, str]:
    return {"grant_type": "password", "username": email, "password": password}


def assert_oauth_error(response: httpx.Response, error: str, status: int = 400) -> None:
    """The RFC 6749 §5.2 shape, never cacheable."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error
    assert body["error"] in OAUTH_ERRORS
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


async def test_the_password_grant_as_a_form_gives_a_bearer_token_pair(
    client: httpx.AsyncClient,
) -> None:
    await register(client)

    response = await client.post(TOKEN, data=password_grant())

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] > 0
    assert (await client.get(ME, headers=bearer(body["access_token"]))).status_code == 200


async def test_the_refresh_grant_rotates_and_a_replay_ends_the_session(
    client: httpx.AsyncClient,
) -> None:
    tokens = await signed_up(client)
    grant = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}

    rotated = await client.post(TOKEN, data=grant)
    replayed = await client.post(TOKEN, data=grant)

    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["refresh_token"] != tokens["refresh_token"]
    assert_oauth_error(replayed, "invalid_grant")
    newest = rotated.json()["access_token"]
    assert (await client.get(ME, headers=bearer(newest))).status_code == 401


@pytest.mark.parametrize("first", ["token", "refresh"])
async def test_rotation_and_reuse_detection_are_shared_with_auth_refresh(
    client: httpx.AsyncClient, first: str
) -> None:
    """A token rotated at one endpoint and replayed at the other is reuse all the same."""
    tokens = await signed_up(client)
    old = tokens["refresh_token"]

    async def refresh_at(endpoint: str) -> httpx.Response:
        if endpoint == "token":
            return await client.post(
                TOKEN, data={"grant_type": "refresh_token", "refresh_token": old}
            )
        return await client.post("/api/v1/auth/refresh", json={"refresh_token": old})

    rotated = await refresh_at(first)
    replayed = await refresh_at("refresh" if first == "token" else "token")

    assert rotated.status_code == 200
    assert replayed.status_code in (400, 401)  # invalid_grant / invalid_token
    newest = rotated.json()["access_token"]
    assert (await client.get(ME, headers=bearer(newest))).status_code == 401


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    client: httpx.AsyncClient,
) -> None:
    await register(client)

    wrong = await client.post(TOKEN, data=password_grant(password="not the password"))
    unknown = await client.post(TOKEN, data=password_grant(email="nobody@example.com"))

    assert_oauth_error(wrong, "invalid_grant")
    assert wrong.json() == unknown.json()
    each_their_own = {"date": "", "x-request-id": ""}
    assert dict(wrong.headers) | each_their_own == dict(unknown.headers) | each_their_own


async def test_an_unverified_email_is_refused_only_after_the_password(
    make_kit: KitFactory,
) -> None:
    kit = await make_kit(auth={"require_verified_login": True})
    async with client_for(kit) as client:
        await register(client)
        right = await client.post(TOKEN, data=password_grant())
        wrong = await client.post(TOKEN, data=password_grant(password="not the password"))
        unknown = await client.post(TOKEN, data=password_grant(email="nobody@example.com"))

    assert_oauth_error(right, "invalid_grant")
    assert "verify" in right.json()["error_description"].lower()
    assert wrong.json() == unknown.json() != right.json()


async def test_login_attempts_count_against_one_limit_across_both_endpoints(
    make_kit: KitFactory,
) -> None:
    kit = await make_kit(rate_limit={"login_account": "3/15m"})
    async with client_for(kit) as client:
        await register(client)
        wrong = {"email": "alice@example.com", "password": "not the password"}
        for _ in range(2):
            assert (await client.post("/api/v1/auth/login", json=wrong)).status_code == 401
        third = await client.post(TOKEN, data=password_grant(password="not the password"))
        limited = await client.post(TOKEN, data=password_grant())  # even the right password
        json_limited = await client.post(
            "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
        )

    assert_oauth_error(third, "invalid_grant")
    assert_oauth_error(limited, "temporarily_unavailable", status=429)
    assert int(limited.headers["retry-after"]) > 0
    assert json_limited.status_code == 429


async def test_refreshes_count_against_the_session_limit_across_both_endpoints(
    make_kit: KitFactory,
) -> None:
    kit = await make_kit(rate_limit={"refresh_session": "2/1m"})
    async with client_for(kit) as client:
        tokens = await signed_up(client)
        first = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        second = await client.post(
            TOKEN,
            data={"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]},
        )
        third = await client.post(
            TOKEN,
            data={"grant_type": "refresh_token", "refresh_token": second.json()["refresh_token"]},
        )

    assert first.status_code == second.status_code == 200
    assert_oauth_error(third, "temporarily_unavailable", status=429)
    assert "retry-after" in third.headers


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "invalid_request"),
        ({"username": "alice@example.com", "password": PASSWORD}, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "x"}, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"grant_type": "password", "username": "alice@example.com"}, "invalid_request"),
        ({"grant_type": "password", "password": PASSWORD}, "invalid_request"),
        ({"grant_type": "password", "username": "alice", "password": PASSWORD}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "a\nb"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "not-a-jwt"}, "invalid_grant"),
        ({**password_grant(), "scope": "admin"}, "invalid_scope"),
    ],
    ids=[
        "empty",
        "no-grant-type",
        "authorization-code",
        "client-credentials",
        "no-password",
        "no-username",
        "username-not-an-email",
        "no-refresh-token",
        "control-character",
        "not-a-token",
        "scope",
    ],
)
async def test_malformed_requests_get_the_rfc_6749_errors(
    client: httpx.AsyncClient, data: dict[str, str], error: str
) -> None:
    await register(client)

    assert_oauth_error(await client.post(TOKEN, data=data), error)


async def test_an_empty_scope_and_a_client_id_are_accepted(client: httpx.AsyncClient) -> None:
    """Swagger UI's Authorize button sends ``scope=`` and may send ``client_id``."""
    await register(client)

    response = await client.post(
        TOKEN,
        data={**password_grant(), "scope": "", "client_id": "swagger"},
        headers={"Authorization": "Basic c3dhZ2dlcjo="},  # "swagger:" (ignored)
    )

    assert response.status_code == 200, response.text


async def test_a_parameter_sent_twice_is_refused(client: httpx.AsyncClient) -> None:
    await register(client)
    body = "grant_type=password&username=alice%40example.com&password=x&password=" + PASSWORD

    response = await client.post(
        TOKEN, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert_oauth_error(response, "invalid_request")


async def test_json_and_multipart_bodies_are_refused(client: httpx.AsyncClient) -> None:
    await register(client)

    as_json = await client.post(TOKEN, json=password_grant())
    multipart = await client.post(TOKEN, data=password_grant(), files={"f": b"x"})

    assert_oauth_error(as_json, "invalid_request")
    assert_oauth_error(multipart, "invalid_request")


async def test_credentials_in_the_query_string_are_never_used(client: httpx.AsyncClient) -> None:
    """Query strings end up in access logs; the endpoint reads the body only."""
    await register(client)

    response = await client.post(TOKEN, params=password_grant())

    assert_oauth_error(response, "invalid_request")


async def test_a_body_over_the_limit_is_413_in_the_oauth_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN, data={**password_grant(), "padding": "x" * 20_000})

    assert_oauth_error(response, "invalid_request", status=413)


async def test_no_error_and_no_log_line_holds_a_password_or_token(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = await signed_up(client)
    secret_password = "s3cret-Pa55word-never-logged"
    fake_refresh = "eyJhbGciOiJIUzI1NiJ9.never-logged.token"
    bodies = [
        (await client.post(TOKEN, data=password_grant(password=secret_password))).text,
        (await client.post(TOKEN, data=password_grant(password=secret_password + "\x00"))).text,
        (
            await client.post(
                TOKEN, data={"grant_type": "refresh_token", "refresh_token": fake_refresh}
            )
        ).text,
        (await client.post(TOKEN, data={**password_grant(), "scope": secret_password})).text,
    ]
    good = await client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    secrets = [secret_password, fake_refresh, PASSWORD, tokens["refresh_token"]]
    secrets += [good.json()["access_token"], good.json()["refresh_token"]]

    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    for secret in secrets:
        assert all(secret not in body for body in bodies)
        assert secret not in logged


async def test_openapi_points_the_password_flow_at_the_token_endpoint(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()

    flows = schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == TOKEN
    operation = schema["paths"][TOKEN]["post"]
    assert list(operation["requestBody"]["content"]) == ["application/x-www-form-urlencoded"]
    for status in ("400", "413", "429", "503"):
        ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/OAuthError")
    assert "422" not in operation["responses"]


def _ids(schema: dict[str, Any]) -> dict[str, str]:
    return {
        f"{method.upper()} {path}": op["operationId"]
        for path, operations in schema["paths"].items()
        for method, op in operations.items()
    }


async def test_operation_ids_are_the_route_names(kit: SaaSKit[User]) -> None:
    from fastapi import FastAPI

    app = FastAPI()
    kit.install(app)

    @app.get("/api/v1/reports")
    async def host_reports() -> list[str]:
        return []

    ids = _ids(app.openapi())

    assert ids["POST /api/v1/auth/login"] == "auth_login"
    assert ids["POST /api/v1/auth/token"] == "auth_token"
    assert ids["GET /api/v1/users/me"] == "users_me"
    assert ids["GET /health"] == "health_live"
    assert ids["GET /api/v1/reports"] == "host_reports_api_v1_reports_get"  # FastAPI's own
    kit_ids = [i for route, i in ids.items() if "reports" not in route]
    assert len(set(kit_ids)) == len(kit_ids)
    assert all(i.replace("_", "").isalpha() and i.islower() for i in kit_ids), kit_ids


async def test_with_the_store_down_both_endpoints_answer_503(database_url: str) -> None:
    """Never tokens without the rate-limit and session checks, never a 500."""
    pytest.importorskip("redis", reason="the Redis store needs the `redis` extra")
    from saaskit.store.redis import RedisStore
    from tests.helpers import make_settings

    kit = SaaSKit(make_settings(database_url), store=RedisStore("redis://127.0.0.1:1/0"))
    try:
        user = await kit.users.create("alice@example.com", PASSWORD)
        token, _ = kit.tokens.issue("refresh", user_id=user.id, session_id="0" * 32)
        async with client_for(kit) as client:
            grant = await client.post(TOKEN, data=password_grant())
            refreshed = await client.post(
                TOKEN, data={"grant_type": "refresh_token", "refresh_token": token}
            )
            revoked = await client.post("/api/v1/auth/revoke", data={"token": token})
    finally:
        await kit.aclose()

    assert_oauth_error(grant, "temporarily_unavailable", status=503)
    assert_oauth_error(refreshed, "temporarily_unavailable", status=503)
    assert_oauth_error(revoked, "temporarily_unavailable", status=503)


@pytest.mark.parametrize(
    "body",
    [b"grant_type=password&username=%ff%fe&password=x", b"grant_type=\xff\xfe&password", b"&&==&"],
    ids=["percent-encoded-non-utf8", "raw-non-utf8", "empty-pairs"],
)
async def test_odd_form_bytes_are_a_400_not_a_500(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(
        TOKEN, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"] in OAUTH_ERRORS

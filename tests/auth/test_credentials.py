"""Credential readers and the Authenticate dependency: the abuse cases.

A second reader (an API-key reader built here, as the API-keys feature will be) sits
behind the session reader, so every rule between readers is exercised with real
requests: nothing falls through to anonymous, no credential is read as another kind,
routes for login sessions refuse other kinds, scopes are the credential's own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.security import APIKeyHeader

from saaskit import SaaSKit
from saaskit.auth.credentials import FULL_ACCESS, Principal
from saaskit.exceptions import InvalidToken
from saaskit.models import User
from saaskit.store import StoreUnavailable
from tests.docs.helpers import SNIPPETS, load_path
from tests.helpers import bearer, build_app, client_for, signed_up
from tests.helpers import make_settings as kit_settings

KEY_READ = "sk_read_0123456789"
KEY_WRITE = "sk_write_0123456789"
KEY_BROKEN = "sk_broken_0123456789"
KEY_STORE_DOWN = "sk_down_0123456789"


class KeyReader:
    """API keys in ``X-API-Key`` (``sk_`` + secret), each with its own scopes."""

    method = "api_key"

    def __init__(self, kit: SaaSKit[User]) -> None:
        self.kit = kit
        self.scheme = APIKeyHeader(name="X-API-Key", auto_error=False)
        self.keys = {KEY_READ: frozenset({"reports:read"}), KEY_WRITE: FULL_ACCESS}
        self.read_count = 0

    def recognizes(self, credential: str) -> bool:
        return credential.startswith("sk_")

    def precheck(self, credential: str) -> None:
        pass  # a real reader checks a checksum here

    async def read(self, credential: str) -> Principal[User]:
        self.read_count += 1
        if credential == KEY_BROKEN:
            raise RuntimeError("a bug in the reader")
        if credential == KEY_STORE_DOWN:
            raise StoreUnavailable()
        scopes = self.keys.get(credential)
        if scopes is None:
            raise InvalidToken("Unknown API key.")
        user = await self.kit.users.get(1)
        assert user is not None
        return Principal(user=user, method="api_key", credential_id=credential[:7], scopes=scopes)


def host_app(kit: SaaSKit[User]) -> FastAPI:
    app = build_app(kit)
    reports_read = kit.authenticate(scopes={"reports:read"})
    reports_write = kit.authenticate(scopes={"reports:read", "reports:write"})

    @app.get("/whoami")
    async def whoami(p: Principal[User] = Depends(kit.authenticate())) -> dict[str, Any]:
        return {"id": p.user.id, "method": p.method, "scopes": sorted(p.scopes)}

    @app.get("/maybe")
    async def maybe(user: User | None = Depends(kit.optional_user)) -> dict[str, Any]:
        return {"id": user.id if user else None}

    @app.post("/maybe")
    async def maybe_post(
        body: dict[str, Any], user: User | None = Depends(kit.optional_user)
    ) -> dict[str, Any]:
        return {"id": user.id if user else None, "keys": len(body)}

    @app.get("/reports")
    async def reports(p: Principal[User] = Depends(reports_read)) -> dict[str, str]:
        return {"method": p.method}

    @app.post("/reports")
    async def write_report(p: Principal[User] = Depends(reports_write)) -> dict[str, str]:
        return {"method": p.method}

    return app


@pytest.fixture
async def setup(kit: SaaSKit[User]) -> AsyncIterator[tuple[httpx.AsyncClient, str, KeyReader]]:
    reader = KeyReader(kit)
    kit.authenticator.add(reader)  # before any route is built
    async with client_for(kit, host_app(kit)) as client:
        tokens = await signed_up(client)
        yield client, tokens["access_token"], reader


def key(value: str) -> dict[str, str]:
    return {"X-API-Key": value}


async def test_each_reader_yields_a_principal_with_its_method_and_scopes(
    setup: tuple[httpx.AsyncClient, str, KeyReader],
) -> None:
    client, token, _ = setup
    by_session = await client.get("/whoami", headers=bearer(token))
    by_key = await client.get("/whoami", headers=key(KEY_READ))
    assert by_session.json() == {"id": 1, "method": "session", "scopes": ["*"]}
    assert by_key.json() == {"id": 1, "method": "api_key", "scopes": ["reports:read"]}
    # The kit's own user routes take any credential kind.
    assert (await client.get("/api/v1/users/me", headers=key(KEY_READ))).status_code == 200


async def test_a_reader_that_fails_never_lets_a_request_through_as_anonymous(
    setup: tuple[httpx.AsyncClient, str, KeyReader],
) -> None:
    client, _, _ = setup
    for path in ("/whoami", "/maybe"):
        broken = await client.get(path, headers=key(KEY_BROKEN))
        down = await client.get(path, headers=key(KEY_STORE_DOWN))
        assert broken.status_code == 500, path
        assert down.status_code == 503, path
        assert down.json()["error"]["code"] == "service_unavailable"


async def test_a_refused_credential_is_401_even_where_anonymous_callers_are_welcome(
    setup: tuple[httpx.AsyncClient, str, KeyReader],
) -> None:
    client, token, _ = setup
    assert (await client.get("/maybe")).json() == {"id": None}
    assert (await client.get("/maybe", headers=bearer(token))).json() == {"id": 1}
    for headers in (key("sk_unknown"), bearer(token[:-3] + "abc"), bearer("not-a-jwt")):
        refused = await client.get("/maybe", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.json()["error"]["code"] == "invalid_token"


async def test_an_optional_route_reads_an_anonymous_body_but_checks_a_presented_token_first(
    setup: tuple[httpx.AsyncClient, str, KeyReader],
) -> None:
    client, token, reader = setup
    anonymous = await client.post("/maybe", json={"a": 1})
    forged = await client.post("/maybe", json={"a": 1}, headers=bearer(token[:-3] + "abc"))
    assert anonymous.json() == {"id": None, "keys": 1}
    assert forged.status_code == 401
    assert reader.read_count == 0


async def test_a_credential_of_one_kind_is_never_read_as_another(
    setup: tuple[httpx.AsyncClient, str, KeyReader],
) -> None:
    client, token, reader = setup
    key_as_bearer = await client.get("/whoami", headers=bearer(KEY_WRITE))
    token_as_key = await client.get("/whoami", headers=key(token))
    assert key_as_bearer.status_code == 401
    assert token_as_key.status_code == 401
    assert key_as_bearer.json()["error"]["code"] == "invalid_token"
    assert reader.read_count == 0


async def test_two_different_credentials_in_one_request_are_refused(
    setup: tuple[httpx.AsyncClient, str, KeyReader],
) -> None:
    client, token, _ = setup
    both = await client.get("/whoami", headers={**bearer(token), **key(KEY_WRITE)})
    assert both.status_code == 401
    assert both.json()["error"]["code"] == "invalid_token"


async def test_routes_of_login_sessions_refuse_other_credential_kinds(
    setup: tuple[httpx.AsyncClient, str, KeyReader],
) -> None:
    client, token, _ = setup
    for method, path in (
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/auth/logout-all"),
        ("GET", "/api/v1/auth/sessions"),
    ):
        refused = await client.request(method, path, headers=key(KEY_WRITE))
        assert refused.status_code == 401, path
        assert refused.json()["error"]["code"] == "not_authenticated"
    reauth = await client.post(
        "/api/v1/auth/reauthenticate", json={"password": "x" * 12}, headers=key(KEY_WRITE)
    )
    assert reauth.status_code == 401
    # The login session was never touched.
    assert (await client.get("/api/v1/auth/sessions", headers=bearer(token))).status_code == 200


async def test_scopes_are_the_credentials_own_and_cannot_be_widened(
    setup: tuple[httpx.AsyncClient, str, KeyReader],
) -> None:
    client, token, _ = setup
    assert (await client.get("/reports", headers=key(KEY_READ))).status_code == 200
    narrow = await client.post("/reports", headers=key(KEY_READ))
    assert narrow.status_code == 403
    assert narrow.json()["error"]["code"] == "permission_denied"
    # Asking for more in the request changes nothing: scopes come from the credential.
    asked = await client.post(
        "/reports?scope=reports:write",
        headers={**key(KEY_READ), "X-Scopes": "reports:write", "Scope": "*"},
    )
    assert asked.status_code == 403
    assert (await client.post("/reports", headers=key(KEY_WRITE))).status_code == 200
    assert (await client.post("/reports", headers=bearer(token))).status_code == 200


def test_a_principal_grants_no_scope_its_reader_did_not_and_is_frozen() -> None:
    principal: Principal[Any] = Principal(user=object(), method="api_key", credential_id="k")
    assert not principal.allows({"reports:read"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        principal.scopes = FULL_ACCESS  # type: ignore[misc]


async def test_the_openapi_schema_documents_each_readers_scheme(
    setup: tuple[httpx.AsyncClient, str, KeyReader],
) -> None:
    client, _, _ = setup
    schemes = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]
    # The session's bearer scheme, the kit's own API keys (on by default), this test's.
    assert set(schemes) == {"OAuth2PasswordBearer", "APIKey", "APIKeyHeader"}


async def test_the_documented_app_gates_by_scope_and_lets_anonymous_callers_see_the_teaser(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = load_path(SNIPPETS / "credentials_app.py", monkeypatch)
    app = module.create_app(kit_settings(database_url))
    kit: SaaSKit[User] = app.state.kit
    try:
        async with client_for(kit, app) as client:
            token = (await signed_up(client))["access_token"]
            assert (await client.get("/teaser")).json() == {"signed_in": False}
            assert (await client.get("/teaser", headers=bearer(token))).json() == {
                "signed_in": True
            }
            assert (await client.get("/reports", headers=bearer(token))).json() == {
                "by": "session",
                "user": "alice@example.com",
            }
            assert (await client.get("/reports")).status_code == 401
    finally:
        await kit.aclose()

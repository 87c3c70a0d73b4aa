"""requests-oauthlib (``OAuth2Session`` with oauthlib's ``LegacyApplicationClient``, the
password grant) against a real server: log in, call the API, refresh automatically when
the token has expired, and the typed oauthlib errors for refused grants."""

from __future__ import annotations

import time
from typing import Any

import pytest
from oauthlib.oauth2 import (  # type: ignore[import-untyped]
    InvalidGrantError,
    LegacyApplicationClient,
    UnsupportedGrantTypeError,
)
from requests_oauthlib import OAuth2Session  # type: ignore[import-untyped]

from tests.clients.helpers import LiveServer
from tests.helpers import PASSWORD

pytestmark = pytest.mark.slow
CLIENT_ID = "saaskit-tests"


@pytest.fixture(autouse=True)
def _plain_http_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses http:// URLs; the test server listens on 127.0.0.1 without TLS.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


# --8<-- [start:session]
def session(**kwargs: Any) -> Any:
    """A session for the password grant of a public client (no secret)."""
    return OAuth2Session(client=LegacyApplicationClient(client_id=CLIENT_ID), **kwargs)


# --8<-- [end:session]


def test_password_grant_and_an_api_call(live_server: LiveServer) -> None:
    email = live_server.register("oauthlib-login")
    # --8<-- [start:login]
    with session() as oauth:
        token = oauth.fetch_token(
            live_server.token_url, username=email, password=PASSWORD, include_client_id=True
        )
        # --8<-- [end:login]
        me = oauth.get(f"{live_server.api}/users/me", timeout=10)

    assert token["refresh_token"]
    assert me.status_code == 200
    assert me.json()["email"] == email


def test_client_credentials_in_a_basic_header_are_ignored(live_server: LiveServer) -> None:
    """requests-oauthlib's default sends ``client_id:`` as HTTP Basic; a public-client
    server ignores it rather than refusing the grant."""
    email = live_server.register("oauthlib-basic")
    with session() as oauth:
        token = oauth.fetch_token(live_server.token_url, username=email, password=PASSWORD)

    assert token["access_token"]


def test_an_expired_token_is_refreshed_automatically(live_server: LiveServer) -> None:
    email = live_server.register("oauthlib-refresh")
    with session() as login:
        first = login.fetch_token(
            live_server.token_url, username=email, password=PASSWORD, include_client_id=True
        )
    saved: list[dict[str, Any]] = []
    # --8<-- [start:refresh]
    expired = {**first, "expires_at": time.time() - 1, "expires_in": -1}
    with session(
        token=expired,
        auto_refresh_url=live_server.token_url,
        auto_refresh_kwargs={"client_id": CLIENT_ID},
        token_updater=saved.append,
    ) as oauth:
        me = oauth.get(f"{live_server.api}/users/me", timeout=10)
    # --8<-- [end:refresh]

    assert me.status_code == 200, me.text
    assert len(saved) == 1
    assert saved[0]["refresh_token"] != first["refresh_token"]


def test_refused_grants_raise_oauthlibs_typed_errors(live_server: LiveServer) -> None:
    email = live_server.register("oauthlib-errors")
    with session() as oauth:
        with pytest.raises(InvalidGrantError) as wrong:
            oauth.fetch_token(live_server.token_url, username=email, password="wrong password")
        with pytest.raises(InvalidGrantError) as unknown:
            oauth.fetch_token(
                live_server.token_url, username="nobody@example.com", password=PASSWORD
            )
        with pytest.raises(InvalidGrantError):
            oauth.refresh_token(live_server.token_url, refresh_token="not-a-token")
    # The authorization-code grant does not exist here.
    with OAuth2Session(client_id=CLIENT_ID) as web, pytest.raises(UnsupportedGrantTypeError):
        web.fetch_token(live_server.token_url, code="abc", include_client_id=True)

    assert wrong.value.description == unknown.value.description

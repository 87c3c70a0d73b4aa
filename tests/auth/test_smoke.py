from __future__ import annotations

import httpx

from tests.helpers import bearer, signed_up


async def test_register_login_me_refresh(client: httpx.AsyncClient) -> None:
    tokens = await signed_up(client)
    me = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "alice@example.com"
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]

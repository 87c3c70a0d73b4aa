"""Responses to authenticated requests are never stored by a cache (``no-store``)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Depends
from fastapi.responses import PlainTextResponse

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import bearer, build_app, client_for, signed_up


async def test_the_kits_authenticated_responses_say_no_store(client: httpx.AsyncClient) -> None:
    tokens = await signed_up(client)
    auth = bearer(tokens["access_token"])

    responses = [
        await client.get("/api/v1/users/me", headers=auth),
        await client.get("/api/v1/auth/sessions", headers=auth),
        await client.patch("/api/v1/users/me", json={"full_name": "Al"}, headers=auth),
    ]

    for response in responses:
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"


async def test_host_routes_behind_the_kits_dependencies_say_no_store(kit: SaaSKit[User]) -> None:
    app = build_app(kit)

    @app.get("/host/private")
    async def private(user: User = Depends(kit.current_active_user)) -> dict[str, Any]:
        return {"email": user.email}

    @app.get("/host/raw")
    async def raw(user: User = Depends(kit.current_user)) -> PlainTextResponse:
        return PlainTextResponse(user.email)  # a Response object: headers added on the way out

    @app.get("/host/cached")
    async def cached(user: User = Depends(kit.current_user)) -> PlainTextResponse:
        return PlainTextResponse("x", headers={"Cache-Control": "private, max-age=60"})

    @app.get("/host/public")
    async def public() -> dict[str, str]:
        return {"hello": "world"}

    async with client_for(kit, app) as client:
        auth = bearer((await signed_up(client))["access_token"])
        private_response = await client.get("/host/private", headers=auth)
        raw_response = await client.get("/host/raw", headers=auth)
        cached_response = await client.get("/host/cached", headers=auth)
        public_response = await client.get("/host/public")

    assert private_response.headers["cache-control"] == "no-store"
    assert raw_response.headers["cache-control"] == "no-store"
    assert cached_response.headers["cache-control"] == "private, max-age=60"  # the host's call
    assert "cache-control" not in public_response.headers

"""Hardening headers: security headers on every response, HSTS in production only,
``Cache-Control: no-store`` on token responses, and CORS from settings."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.models import User
from tests.helpers import PASSWORD, KitFactory, build_app, client_for, register, signed_up

BASELINE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}
ORIGIN = "https://app.example.com"


def assert_hardened(response: httpx.Response) -> None:
    for name, value in BASELINE.items():
        assert response.headers.get(name) == value, (response.status_code, name)


async def every_kind_of_response(client: httpx.AsyncClient) -> list[httpx.Response]:
    return [
        await client.get("/health"),
        await client.get("/api/v1/users/me"),  # 401
        await client.get("/no/such/page"),  # 404
        await client.post("/api/v1/auth/register", json={}),  # 422
        await client.post(
            "/api/v1/auth/register",
            content=b"x" * 2_000_000,
            headers={"Content-Type": "application/json"},
        ),  # 413
        await client.get("/host/route"),
    ]


async def test_security_headers_are_on_every_response(kit: SaaSKit[User]) -> None:
    app = build_app(kit)

    @app.get("/host/route")
    async def host_route() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/host/boom")
    async def host_boom() -> None:
        raise RuntimeError("unexpected")

    async with client_for(kit, app) as client:
        responses = [*await every_kind_of_response(client), await client.get("/host/boom")]

    assert [r.status_code for r in responses] == [200, 401, 404, 422, 413, 200, 500]
    for response in responses:
        assert_hardened(response)
        assert "strict-transport-security" not in response.headers


async def test_hsts_is_sent_in_production(make_kit: KitFactory) -> None:
    kit = await make_kit(environment="production")
    async with client_for(kit) as client:
        ok = await client.get("/health")
        missing = await client.get("/api/v1/users/me")

    for response in (ok, missing):
        assert_hardened(response)
        hsts = response.headers["strict-transport-security"]
        assert "max-age=31536000" in hsts
        assert "includeSubDomains" in hsts


def test_production_refuses_a_short_secret_key() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        SaaSKitSettings(environment="production", secret_key="too-short-for-production")


async def test_token_responses_are_not_cached(client: httpx.AsyncClient) -> None:
    tokens = await signed_up(client)
    login = await client.post(
        "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )

    assert login.status_code == refresh.status_code == 200
    assert login.headers["cache-control"] == "no-store"
    assert refresh.headers["cache-control"] == "no-store"


async def test_a_host_can_switch_the_security_headers_off(make_kit: KitFactory) -> None:
    kit = await make_kit(http={"security_headers": False})
    async with client_for(kit) as client:
        response = await client.get("/health")

    assert "x-frame-options" not in response.headers


async def cors_app(make_kit: KitFactory) -> tuple[SaaSKit[User], FastAPI]:
    kit = await make_kit(cors={"origins": [ORIGIN]})
    return kit, build_app(kit)


async def test_cors_preflight_from_a_configured_origin_is_allowed(make_kit: KitFactory) -> None:
    kit, app = await cors_app(make_kit)
    async with client_for(kit, app) as client:
        preflight = await client.options(
            "/api/v1/auth/login",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,authorization",
            },
        )
        await register(client)
        actual = await client.post(
            "/api/v1/auth/login",
            json={"email": "alice@example.com", "password": PASSWORD},
            headers={"Origin": ORIGIN},
        )

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert_hardened(preflight)
    assert actual.headers["access-control-allow-origin"] == ORIGIN


async def test_cors_preflight_from_another_origin_is_refused(make_kit: KitFactory) -> None:
    kit, app = await cors_app(make_kit)
    async with client_for(kit, app) as client:
        preflight = await client.options(
            "/api/v1/auth/login",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        simple = await client.get("/health", headers={"Origin": "https://evil.example"})

    assert preflight.status_code == 400
    for response in (preflight, simple):
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-credentials" not in response.headers


async def test_no_cors_headers_without_configured_origins(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"Origin": ORIGIN})

    assert "access-control-allow-origin" not in response.headers


async def cross_origin_requests(client: httpx.AsyncClient, origin: str) -> list[httpx.Response]:
    """A preflight for a login with a bearer token, then a simple request, from ``origin``."""
    preflight = await client.options(
        "/api/v1/auth/login",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        },
    )
    simple = await client.get("/health", headers={"Origin": origin})
    return [preflight, simple]


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
async def test_cors_star_never_grants_credentials_nor_echoes_the_origin(
    make_kit: KitFactory, origin: str
) -> None:
    kit = await make_kit(cors={"origins": ["*"]})  # allow_credentials is on by default
    async with client_for(kit) as client:
        responses = await cross_origin_requests(client, origin)

    for response in responses:
        assert "access-control-allow-credentials" not in response.headers
        assert response.headers["access-control-allow-origin"] == "*"  # never the origin
        assert_hardened(response)
    preflight = responses[0]
    assert preflight.status_code == 200  # any page may still call with a bearer token
    assert "authorization" in preflight.headers["access-control-allow-headers"]


async def test_cors_exact_origins_keep_credentials_beside_star(make_kit: KitFactory) -> None:
    kit = await make_kit(cors={"origins": ["*", ORIGIN]})
    async with client_for(kit) as client:
        listed = await cross_origin_requests(client, ORIGIN)
        other = await cross_origin_requests(client, "https://evil.example")

    for response in listed:
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert response.headers["access-control-allow-credentials"] == "true"
        assert "origin" in response.headers["vary"].lower()
    for response in other:
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers
        assert "origin" in response.headers["vary"].lower()  # answers differ by Origin


async def test_cors_star_with_credentials_is_explained_once_at_startup(
    make_kit: KitFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="saaskit")
    kit = await make_kit(cors={"origins": ["*"]})
    async with client_for(kit) as client:
        await cross_origin_requests(client, "https://evil.example")
        await cross_origin_requests(client, "https://other.example")

    [warning] = [r for r in caplog.records if "SAASKIT_CORS__ORIGINS" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert "without credentials" in warning.getMessage()
    quiet = await make_kit(cors={"origins": ["*"], "allow_credentials": False})
    caplog.clear()
    build_app(quiet)
    assert not [r for r in caplog.records if "SAASKIT_CORS__ORIGINS" in r.getMessage()]

"""The request body limit: 413 before parsing, hashing or touching the database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import PASSWORD, KitFactory, build_app, client_for, register

LIMIT = 1024


class HashSpy:
    """Counts calls to the kit's password hasher."""

    def __init__(self, kit: SaaSKit[User], monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        for name in ("hash", "verify"):
            original = getattr(kit.passwords, name)

            async def counted(*args: Any, _original: Any = original) -> Any:
                self.calls += 1
                return await _original(*args)

            monkeypatch.setattr(kit.passwords, name, counted)


@pytest.fixture
async def small_kit(make_kit: KitFactory) -> SaaSKit[User]:
    return await make_kit(http={"max_body_bytes": LIMIT})


def oversized_register_body() -> bytes:
    body = {"email": "big@example.com", "password": PASSWORD, "full_name": "x" * 200}
    body["padding"] = "y" * LIMIT
    return json.dumps(body).encode()


def oversized_login_body() -> bytes:
    return json.dumps({"email": "alice@example.com", "password": "p" * (LIMIT + 10)}).encode()


async def chunks(data: bytes, size: int = 100) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def assert_payload_too_large(response: httpx.Response, limit: int = LIMIT) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert str(limit) in error["message"]


@pytest.mark.parametrize("path", ["/api/v1/auth/register", "/api/v1/auth/login"])
async def test_declared_content_length_over_the_limit_is_413_before_hashing(
    small_kit: SaaSKit[User], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    spy = HashSpy(small_kit, monkeypatch)
    body = oversized_register_body() if path.endswith("register") else oversized_login_body()
    async with client_for(small_kit) as client:
        response = await client.post(
            path, content=body, headers={"Content-Type": "application/json"}
        )

    assert_payload_too_large(response)
    assert spy.calls == 0
    assert (await small_kit.users.page())[1] == 0


@pytest.mark.parametrize("path", ["/api/v1/auth/register", "/api/v1/auth/login"])
async def test_chunked_body_over_the_limit_is_413_before_hashing(
    small_kit: SaaSKit[User], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    spy = HashSpy(small_kit, monkeypatch)
    body = oversized_register_body() if path.endswith("register") else oversized_login_body()
    async with client_for(small_kit) as client:
        request = client.build_request(
            "POST", path, content=chunks(body), headers={"Content-Type": "application/json"}
        )
        assert "content-length" not in request.headers
        response = await client.send(request)

    assert_payload_too_large(response)
    assert spy.calls == 0
    assert (await small_kit.users.page())[1] == 0


async def test_chunked_oauth2_form_over_the_limit_is_413(small_kit: SaaSKit[User]) -> None:
    form = b"username=alice%40example.com&password=" + b"p" * (LIMIT * 2)
    async with client_for(small_kit) as client:
        response = await client.post(
            "/api/v1/auth/login",
            content=chunks(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    assert_payload_too_large(response)


async def test_bodies_under_the_limit_pass_whether_declared_or_chunked(
    small_kit: SaaSKit[User],
) -> None:
    body = json.dumps({"email": "alice@example.com", "password": PASSWORD}).encode()
    assert len(body) < LIMIT
    async with client_for(small_kit) as client:
        declared = await client.post(
            "/api/v1/auth/register", content=body, headers={"Content-Type": "application/json"}
        )
        chunked = await client.post(
            "/api/v1/auth/login",
            content=chunks(body, size=10),
            headers={"Content-Type": "application/json"},
        )

    assert declared.status_code == 201
    assert chunked.status_code == 200


async def test_the_limit_applies_to_host_routes_too(small_kit: SaaSKit[User]) -> None:
    app = build_app(small_kit)
    reached: list[int] = []

    @app.post("/upload")
    async def upload(data: dict[str, str]) -> dict[str, int]:
        reached.append(len(data))
        return {"ok": 1}

    async with client_for(small_kit, app) as client:
        response = await client.post("/upload", json={"blob": "z" * (LIMIT * 4)})
        small = await client.post("/upload", json={"blob": "z"})

    assert_payload_too_large(response)
    assert small.status_code == 200
    assert reached == [1]


async def test_default_limit_is_one_mebibyte(client: httpx.AsyncClient) -> None:
    await register(client)
    big = {"email": "alice@example.com", "password": "p" * (1024 * 1024)}

    response = await client.post("/api/v1/auth/login", json=big)

    assert_payload_too_large(response, limit=1024 * 1024)

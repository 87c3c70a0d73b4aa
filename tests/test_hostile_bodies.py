"""Hostile bodies cost little and get small answers: no CPU or bandwidth amplification.

The attack that found this: a 1 MB JSON body of 90,000 unknown keys sent, without an
account, to login, register, refresh and forgot-password got a 422 of 8.4 MB after about
1.6 s of CPU. The CPU side is measured in ``benchmarks/hostile_bodies.py``.
"""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import BaseModel, ConfigDict

from saaskit import SaaSKit
from saaskit.errors import MAX_FIELD_ERRORS
from saaskit.json_limits import JsonLimits, JsonTooComplex, loads_bounded
from saaskit.models import User
from tests.helpers import KitFactory, build_app, client_for

UNAUTHENTICATED = [
    "/api/v1/auth/login",
    "/api/v1/auth/register",
    "/api/v1/auth/refresh",
    "/api/v1/auth/forgot-password",
    "/api/v1/auth/request-verify-email",
    "/api/v1/auth/verify-email",
    "/api/v1/auth/reset-password",
]
MAX_ERROR_BODY = 4096


def unknown_keys(count: int) -> bytes:
    return ("{" + ",".join(f'"k{i}":0' for i in range(count)) + "}").encode()


HOSTILE = unknown_keys(90_000)  # the reported body: ~1 MB


async def post(client: httpx.AsyncClient, path: str, body: bytes) -> httpx.Response:
    return await client.post(path, content=body, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("path", UNAUTHENTICATED)
async def test_the_reported_body_is_refused_unread_with_a_small_answer(
    client: httpx.AsyncClient, path: str
) -> None:
    assert len(HOSTILE) > 900_000

    response = await post(client, path, HOSTILE)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert len(response.content) <= MAX_ERROR_BODY


@pytest.mark.parametrize("path", UNAUTHENTICATED)
async def test_many_keys_within_the_byte_limit_get_one_short_422(
    client: httpx.AsyncClient, path: str
) -> None:
    body = unknown_keys(1_500)
    assert len(body) < 16 * 1024  # under the byte limit of these routes

    response = await post(client, path, body)

    assert response.status_code == 422
    assert len(response.content) <= MAX_ERROR_BODY
    [field] = response.json()["error"]["fields"]
    assert field["type"] == "json_too_complex"


@pytest.mark.parametrize("depth", [40, 5_000])
async def test_deep_nesting_is_one_422_not_a_500(client: httpx.AsyncClient, depth: int) -> None:
    body = '{"email": ' + "[" * depth + "]" * depth + ', "password": "x"}'

    for path in ("/api/v1/auth/login", "/api/v1/auth/register"):
        response = await post(client, path, body.encode())
        assert response.status_code == 422, response.text
        [field] = response.json()["error"]["fields"]
        assert field["type"] == "json_too_complex"
        assert "nested deeper than 32" in field["message"]


async def test_a_form_login_over_the_byte_limit_is_413(client: httpx.AsyncClient) -> None:
    form = "&".join(f"f{i}=x" for i in range(20_000)).encode()

    response = await client.post(
        "/api/v1/auth/login",
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 413


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str


async def test_validation_errors_of_host_routes_are_capped(kit: SaaSKit[User]) -> None:
    # Host routes parse their own bodies; the kit's error handler still caps the answer.
    app = build_app(kit)

    @app.post("/host/strict")
    async def strict(body: Strict) -> dict[str, str]:
        return {"name": body.name}

    async with client_for(kit, app) as client:
        response = await post(client, "/host/strict", HOSTILE)

    assert response.status_code == 422
    assert len(response.content) <= MAX_ERROR_BODY
    error = response.json()["error"]
    assert len(error["fields"]) == MAX_FIELD_ERRORS
    assert error["fields_total"] == 90_001  # every unknown key, and the missing name
    assert "first 20 of 90001" in error["message"]


async def test_long_keys_are_not_echoed_in_full(kit: SaaSKit[User]) -> None:
    app = build_app(kit)

    @app.post("/host/strict")
    async def strict(body: Strict) -> dict[str, str]:
        return {"name": body.name}

    key = "k" * 100_000
    async with client_for(kit, app) as client:
        response = await post(client, "/host/strict", json.dumps({key: 1}).encode())

    assert response.status_code == 422
    assert len(response.content) <= MAX_ERROR_BODY


async def test_a_small_valid_request_is_unaffected(client: httpx.AsyncClient) -> None:
    body = {"email": "alice@example.com", "password": "correct horse battery", "full_name": "A"}

    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201


def test_commas_and_brackets_inside_strings_do_not_count() -> None:
    # Long text full of commas and brackets fails the cheap upper bounds, so it is parsed
    # and walked: it has two members and depth 1, well within the limits.
    text = "a, b, [c], {d}, " * 10_000
    body = json.dumps({"content": text, "role": "user"}).encode()

    assert loads_bounded(body, JsonLimits(max_depth=2, max_members=10)) == {
        "content": text,
        "role": "user",
    }


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ([[[1]]], False),  # depth 3
        ([[[[1]]]], True),  # depth 4
        (list(range(10)), False),
        (list(range(11)), True),
        ({"a": [1, 2, 3], "b": {"c": 1, "d": 2}}, False),  # 2 + 3 + 2 = 7 members
        ({"a": list(range(5)), "b": {"c": 1, "d": 2, "e": 3, "f": 4}}, True),  # 11
    ],
)
def test_the_limits_are_exact(value: object, refused: bool) -> None:
    limits = JsonLimits(max_depth=3, max_members=10)
    body = json.dumps(value, indent=1).encode()  # spaces and newlines change nothing

    if refused:
        with pytest.raises(JsonTooComplex):
            loads_bounded(body, limits)
    else:
        assert loads_bounded(body, limits) == value


async def test_an_anonymous_client_cannot_make_an_authenticated_route_parse_its_body(
    make_kit: KitFactory,
) -> None:
    # FastAPI reads a body before it runs dependencies: the kit checks the token first.
    kit = await make_kit(ai={"base_url": "http://127.0.0.1:9/v1"})  # never called
    body = unknown_keys(80_000)  # under the app-wide 1 MB; AI chat takes large bodies
    anonymous: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic YWxpY2U6cHc="},
    ]
    async with client_for(kit) as client:
        for headers in anonymous:
            response = await client.post(
                "/api/v1/ai/chat",
                content=body,
                headers={"Content-Type": "application/json", **headers},
            )
            assert response.status_code == 401, response.text[:200]
            assert len(response.content) <= MAX_ERROR_BODY


@pytest.mark.parametrize("body", [b"\x80", b'{"email": "\xff"}', b"\xfe\xff\x00{"])
async def test_a_login_body_that_is_not_utf8_is_422_not_500(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await post(client, "/api/v1/auth/login", body)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"

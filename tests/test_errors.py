"""One error shape everywhere, no tracebacks or inputs in bodies, documented in OpenAPI."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from saaskit import SaaSKit
from saaskit import exceptions as exc
from saaskit.errors import status_for
from saaskit.models import User
from saaskit.observability.logs import JsonFormatter
from saaskit.store import StoreUnavailable
from tests.helpers import PASSWORD, KitFactory, build_app, client_for, register


def host_app(kit: SaaSKit[User]) -> FastAPI:
    app = build_app(kit)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail 0xDEADBEEF")

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, "I am a teapot", headers={"X-Why": "tea"})

    @app.get("/domain")
    async def domain() -> None:
        raise exc.PermissionDenied("Not for you.")

    @app.post("/echo")
    async def echo(data: dict[str, int]) -> dict[str, int]:
        return data

    return app


async def test_unexpected_error_is_500_internal_error_and_the_traceback_is_logged(
    kit: SaaSKit[User], caplog: pytest.LogCaptureFixture
) -> None:
    async with client_for(kit, host_app(kit)) as client:
        with caplog.at_level(logging.ERROR, logger="saaskit"):
            response = await client.get("/boom")

    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": "Internal server error.",
            "request_id": request_id,
        }
    }
    for leak in ("Traceback", "RuntimeError", "0xDEADBEEF", "boom"):
        assert leak not in response.text
    logged = [r for r in caplog.records if r.exc_info and r.name == "saaskit"]
    assert logged, caplog.text
    assert "0xDEADBEEF" in caplog.text
    assert "Traceback" in caplog.text
    assert "/boom" in logged[0].getMessage()
    assert request_id in JsonFormatter().format(logged[0]), "the 500's log line has its id"


async def test_unknown_route_is_404_in_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["message"]


async def test_wrong_method_is_405_in_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/v1/auth/login")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_host_http_exceptions_keep_status_message_and_headers(kit: SaaSKit[User]) -> None:
    async with client_for(kit, host_app(kit)) as client:
        response = await client.get("/teapot")

    assert response.status_code == 418
    assert response.json()["error"] == {
        "code": "http_error",
        "message": "I am a teapot",
        "request_id": response.headers["x-request-id"],
    }
    assert response.headers["x-why"] == "tea"


async def test_domain_errors_raised_in_host_routes_are_mapped(kit: SaaSKit[User]) -> None:
    async with client_for(kit, host_app(kit)) as client:
        response = await client.get("/domain")

    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "permission_denied",
        "message": "Not for you.",
        "request_id": response.headers["x-request-id"],
    }


async def test_host_validation_errors_use_the_shape_without_inputs(kit: SaaSKit[User]) -> None:
    async with client_for(kit, host_app(kit)) as client:
        response = await client.post("/echo", json={"n": "sensitive-value-xyz"})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"][0]["loc"] == ["body", "n"]
    assert "sensitive-value-xyz" not in response.text


async def test_saaskit_routes_keep_the_shape_without_the_kit_error_handlers(
    make_kit: KitFactory,
) -> None:
    kit = await make_kit(http={"install_error_handlers": False})
    async with client_for(kit) as client:
        invalid = await client.post(
            "/api/v1/auth/register", json={"email": "x@example.com", "password": ["leak-me-pw"]}
        )
        await register(client)
        duplicate = await register(client)
        wrong = await client.post(
            "/api/v1/auth/login", json={"email": "alice@example.com", "password": "nope" + PASSWORD}
        )

    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "validation_error"
    assert "leak-me-pw" not in invalid.text
    assert (duplicate.status_code, duplicate.json()["error"]["code"]) == (
        409,
        "email_already_registered",
    )
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_credentials")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (exc.InvalidCredentials(), 401),
        (exc.NotAuthenticated(), 401),
        (exc.PermissionDenied(), 403),
        (exc.UserNotFound(), 404),
        (exc.EmailAlreadyRegistered(), 409),
        (exc.InvalidPassword(), 422),
        (exc.RateLimited(3), 429),
        (StoreUnavailable(), 503),
        (exc.SaaSKitError(), 400),
    ],
)
def test_status_for_uses_the_most_specific_mapped_class(
    error: exc.SaaSKitError, status: int
) -> None:
    assert status_for(error) == status


def _responses(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    responses: dict[str, Any] = schema["paths"][path][method]["responses"]
    return responses


async def test_openapi_documents_error_responses_of_the_auth_and_users_routes(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    expected = {
        ("/api/v1/auth/register", "post"): {"409", "422"},
        ("/api/v1/auth/login", "post"): {"401", "422"},
        ("/api/v1/auth/refresh", "post"): {"401", "422"},
        ("/api/v1/auth/logout", "post"): {"401"},
        ("/api/v1/auth/sessions", "get"): {"401"},
        ("/api/v1/auth/sessions/{session_id}", "delete"): {"401", "404"},
        ("/api/v1/users/me", "get"): {"401"},
        ("/api/v1/users/me", "patch"): {"401", "422"},  # the email changes elsewhere: no 409
        ("/api/v1/users/me/email", "post"): {"401", "403", "409", "422", "429"},
        ("/api/v1/users", "get"): {"401", "403"},
        ("/api/v1/users/{user_id}", "get"): {"401", "403", "404"},
    }

    for (path, method), statuses in expected.items():
        responses = _responses(schema, path, method)
        assert statuses <= responses.keys(), (path, method, responses.keys())
        for status in statuses:
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorResponse"), (path, status, ref)
    error_schema = schema["components"]["schemas"]["ErrorResponse"]
    assert error_schema["required"] == ["error"]


async def test_openapi_login_accepts_form_and_json(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    body = schema["paths"]["/api/v1/auth/login"]["post"]["requestBody"]["content"]

    assert {"application/x-www-form-urlencoded", "application/json"} <= body.keys()
    form = body["application/x-www-form-urlencoded"]["schema"]
    assert set(form["required"]) == {"username", "password"}


@pytest.mark.parametrize("handlers", [True, False])
async def test_a_body_that_cannot_be_read_is_a_declared_400_in_the_error_shape(
    make_kit: KitFactory, handlers: bool
) -> None:
    kit = await make_kit(http={"install_error_handlers": handlers})
    async with client_for(kit) as client:
        response = await client.post(
            "/api/v1/auth/register",
            content=b'{"email": "\xff\xfe"}',
            headers={"Content-Type": "application/json"},
        )
        schema = (await client.get("/openapi.json")).json()

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "http_error"
    declared = _responses(schema, "/api/v1/auth/register", "post")["400"]
    assert declared["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")

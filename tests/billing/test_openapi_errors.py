"""The OpenAPI document lists what each route answers, in the shape it answers it.

Host routes that use the kit's dependencies (current user, plan gates) document the 401,
402 and 403 those can answer; every 422 is saaskit's error shape, never FastAPI's
``HTTPValidationError``; and what the routes really answer is checked against it.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from saaskit import SaaSKit
from saaskit.errors import ErrorResponse
from saaskit.models import User
from tests.billing.helpers import Billing
from tests.helpers import KitFactory, bearer, build_app, client_for

ERROR_REF = "#/components/schemas/ErrorResponse"


def _operation(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = spec["paths"][path][method.lower()]
    return operation


def assert_documented(spec: dict[str, Any], path: str, response: httpx.Response) -> None:
    """``response``'s status is documented for its operation, and so is its body's shape."""
    method = response.request.method
    responses = _operation(spec, method, path)["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method} {path} answered {status}, documents {sorted(responses)}"
    schema = responses[status].get("content", {}).get("application/json", {}).get("schema", {})
    if schema.get("$ref") == ERROR_REF:
        ErrorResponse.model_validate(response.json())  # the documented shape, exactly


def test_no_operation_documents_fastapi_validation_error(billing: Billing) -> None:
    app = billing.client._transport.app  # type: ignore[attr-defined]
    spec = app.openapi()
    assert "HTTPValidationError" not in str(spec)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            invalid = operation["responses"].get("422")
            if invalid is not None:
                schema = invalid["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (method, path)


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/reports", {"401", "402", "403"}),  # require_plan
        ("/premium", {"401", "402"}),  # require_active_subscription
        ("/sso", {"401", "402", "403"}),  # require_feature
    ],
)
def test_host_routes_document_the_errors_of_the_kit_dependencies(
    billing: Billing, path: str, statuses: set[str]
) -> None:
    spec = billing.client._transport.app.openapi()  # type: ignore[attr-defined]
    responses = _operation(spec, "get", path)["responses"]
    assert statuses <= set(responses)
    for status in statuses:
        assert responses[status]["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}


async def test_what_gated_host_routes_answer_is_what_they_document(billing: Billing) -> None:
    spec = billing.client._transport.app.openapi()  # type: ignore[attr-defined]
    anonymous = await billing.client.get("/reports")
    assert anonymous.status_code == 401
    assert_documented(spec, "/reports", anonymous)
    headers = await billing.signup()
    unsubscribed = await billing.client.get("/reports", headers=headers)
    assert unsubscribed.status_code == 402
    assert_documented(spec, "/reports", unsubscribed)
    await billing.subscribe(headers, "pro")
    assert (await billing.client.get("/reports", headers=headers)).status_code == 200
    other_plan = await billing.client.get("/sso", headers=headers)
    assert other_plan.status_code == 403
    assert_documented(spec, "/sso", other_plan)


async def test_checkout_documents_its_413(billing: Billing) -> None:
    spec = billing.client._transport.app.openapi()  # type: ignore[attr-defined]
    path = "/api/v1/billing/create-checkout-session"
    headers = await billing.signup()
    too_large = await billing.client.post(
        path, content=b'{"plan": "' + b"p" * 2_000_000 + b'"}', headers=headers
    )
    assert too_large.status_code == 413
    assert_documented(spec, path, too_large)


def _host_app(kit: SaaSKit[User]) -> FastAPI:
    app = build_app(kit)

    @app.get("/admin/stats")
    async def stats(days: int = 7, user: User = Depends(kit.current_superuser)) -> dict[str, int]:
        return {"days": days}

    @app.get("/me/name")
    async def name(user: User = Depends(kit.current_user)) -> dict[str, str]:
        return {"name": user.full_name or ""}

    return app


async def test_host_routes_answer_and_document_401_403_and_422(make_kit: KitFactory) -> None:
    kit = await make_kit()
    app = _host_app(kit)
    spec = app.openapi()
    assert set(_operation(spec, "get", "/admin/stats")["responses"]) == {
        "200",
        "401",
        "403",
        "422",
    }
    assert set(_operation(spec, "get", "/me/name")["responses"]) == {"200", "401"}
    async with client_for(kit, app) as client:
        await client.post(
            "/api/v1/auth/register",
            json={"email": "a@example.com", "password": "correct horse battery"},
        )
        login = await client.post(
            "/api/v1/auth/login",
            json={"email": "a@example.com", "password": "correct horse battery"},
        )
        auth = bearer(login.json()["access_token"])
        for response in (
            await client.get("/admin/stats"),
            await client.get("/admin/stats", headers=auth),
            await client.get("/admin/stats?days=many", headers=auth),
        ):
            assert_documented(spec, "/admin/stats", response)
        assert {(await client.get("/admin/stats", headers=auth)).status_code} == {403}
        assert_documented(spec, "/me/name", await client.get("/me/name"))


async def test_every_kit_operation_answers_an_anonymous_call_as_documented(
    make_kit: KitFactory,
) -> None:
    """Each operation, called without credentials and with junk path parameters, answers
    a status it documents, with the body shape it documents for it."""
    kit = await make_kit()
    app = build_app(kit)
    spec = app.openapi()
    checked = 0
    async with client_for(kit, app) as client:
        for path, operations in spec["paths"].items():
            for method in operations:
                url = re.sub(r"\{[^}]+\}", "not-a-number", path)
                response = await client.request(method.upper(), url, json={})
                assert_documented(spec, path, response)
                checked += 1
    assert checked >= 25

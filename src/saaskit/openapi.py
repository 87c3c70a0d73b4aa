"""The OpenAPI document says what the routes answer.

Saaskit's error shape, and the errors the kit's dependencies add to any route that uses them.

A host route written as::

    @app.get("/reports")
    async def reports(plan: UserPlan = Depends(kit.require_plan("pro"))) -> dict[str, str]: ...

can answer 401 (no or bad token), 402 (no subscription) and 403 (another plan) besides its
200: :meth:`SaaSKit.install <saaskit.SaaSKit.install>` makes the app's OpenAPI list them, with
:class:`~saaskit.errors.ErrorResponse` as their body, and its 422s with saaskit's shape rather
than FastAPI's ``HTTPValidationError`` when saaskit's error handlers are installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from saaskit.errors import ErrorResponse, error_responses

F = TypeVar("F", bound=Callable[..., Any])

ERROR_STATUSES_ATTRIBUTE = "__saaskit_error_statuses__"
_STATUSES = ERROR_STATUSES_ATTRIBUTE
_ERROR_REF = "#/components/schemas/ErrorResponse"
_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def declares_errors(*statuses: int) -> Callable[[F], F]:
    """Mark a dependency with the error statuses it can answer (documented on its routes).

    Example:
        ```python
        @declares_errors(401, 403)
        async def current_superuser(...): ...
        ```
    """

    def mark(dependency: F) -> F:
        setattr(dependency, _STATUSES, tuple(sorted(set(statuses))))
        return dependency

    return mark


def dependency_errors(dependant: Dependant) -> set[int]:
    """The statuses the marked dependencies anywhere under ``dependant`` can answer."""
    found: set[int] = set()
    stack = list(dependant.dependencies)
    while stack:
        dependency = stack.pop()
        found.update(getattr(dependency.call, _STATUSES, ()))
        stack.extend(dependency.dependencies)
    return found


def _takes_input(route: APIRoute) -> bool:
    dependant = route.dependant
    return route.body_field is not None or any(
        (
            dependant.path_params,
            dependant.query_params,
            dependant.header_params,
            dependant.cookie_params,
        )
    )


def missing_errors(route: APIRoute, *, validation: bool) -> list[int]:
    """The error statuses ``route`` can answer but does not declare.

    Those of its kit dependencies, and 422 (if ``validation``) when it takes input.
    """
    statuses = dependency_errors(route.dependant)
    if validation and _takes_input(route):
        statuses.add(422)
    declared = {int(status) for status in route.responses if str(status).isdigit()}
    return sorted(statuses - declared)


def _error_body() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _ERROR_REF}}}


def _add_responses(schema: dict[str, Any], route: APIRoute, statuses: list[int]) -> None:
    operations = schema.get("paths", {}).get(route.path_format, {})
    for method in route.methods or ():
        operation = operations.get(method.lower())
        if operation is None:
            continue
        responses = operation.setdefault("responses", {})
        for status, documented in error_responses(*statuses).items():
            responses.setdefault(
                str(status),
                {"description": documented["description"], "content": _error_body()},
            )


def _ensure_error_schema(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorResponse" in components:
        return
    generated = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(generated.pop("$defs", {}))
    components["ErrorResponse"] = generated


def _use_error_shape_for_422(schema: dict[str, Any]) -> None:
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            response = operation.get("responses", {}).get("422")
            if not isinstance(response, dict):
                continue
            body = response.get("content", {}).get("application/json", {})
            if body.get("schema", {}).get("$ref") == _FASTAPI_422:
                body["schema"] = {"$ref": _ERROR_REF}
    components = schema.get("components", {}).get("schemas", {})
    # FastAPI's two validation schemas go once nothing refers to them any more.
    for name in ("HTTPValidationError", "ValidationError"):
        others = {key: value for key, value in components.items() if key != name}
        if f"#/components/schemas/{name}" not in _refs([schema.get("paths", {}), others]):
            components.pop(name, None)


def _refs(node: Any) -> set[str]:
    """Every ``$ref`` under ``node``."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def document_errors(app: FastAPI, *, error_handlers: bool) -> None:
    """Make ``app.openapi()`` list the kit's error responses on every route (host routes too).

    Args:
        app: the app :meth:`SaaSKit.install <saaskit.SaaSKit.install>` was given.
        error_handlers: saaskit's handlers are installed, so every 422 (host routes too)
            has saaskit's shape.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            added = False
            for route in app.routes:
                if isinstance(route, APIRoute) and route.include_in_schema:
                    # saaskit's routes answer with its shape even without the handlers.
                    kit_route = getattr(route, "saaskit_route", False)
                    missing = missing_errors(route, validation=error_handlers or kit_route)
                    if missing:
                        _add_responses(schema, route, missing)
                        added = True
            if added:
                _ensure_error_schema(schema)
            if error_handlers:
                _use_error_shape_for_422(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

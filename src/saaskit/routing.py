"""Route class for saaskit's routers.

Errors raised inside saaskit's own routes become saaskit error responses even when the
host app did not install saaskit's exception handlers, so ``include_router`` alone is
safe: a 422 never echoes a password back.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter

from saaskit.errors import saaskit_error_response, validation_error_response
from saaskit.exceptions import SaaSKitError

F = TypeVar("F", bound=Callable[..., Any])


def with_body_schema(endpoint: F, schema: type[Any]) -> F:
    """Make ``endpoint``'s ``body`` parameter use ``schema`` (a host's extended model).

    FastAPI reads parameter types from the signature, so a host-supplied schema is set
    on the annotations before the route is added.
    """
    endpoint.__annotations__ = {**endpoint.__annotations__, "body": schema}
    return endpoint


class SaaSKitRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SaaSKitError as error:
                return saaskit_error_response(error)
            except RequestValidationError as error:
                return validation_error_response(error)

        return route_handler


def new_router() -> APIRouter:
    return APIRouter(route_class=SaaSKitRoute)

"""Route class for saaskit's routers.

Errors raised inside saaskit's own routes become saaskit error responses even when the
host app did not install saaskit's exception handlers, so ``include_router`` alone is
safe: a 422 never echoes a password back. Routes that take a body also declare the 400
FastAPI answers when it cannot read one (bytes that are not UTF-8, a broken form).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from starlette.exceptions import HTTPException

from saaskit.errors import (
    error_responses,
    http_error_response,
    saaskit_error_response,
    validation_error_response,
)
from saaskit.exceptions import SaaSKitError

F = TypeVar("F", bound=Callable[..., Any])

UNREADABLE_BODY = "The body could not be read (not UTF-8, or a broken form)"


def with_body_schema(endpoint: F, schema: type[Any]) -> F:
    """Make ``endpoint``'s ``body`` parameter use ``schema`` (a host's extended model).

    FastAPI reads parameter types from the signature, so a host-supplied schema is set
    on the annotations before the route is added.
    """
    endpoint.__annotations__ = {**endpoint.__annotations__, "body": schema}
    return endpoint


class SaaSKitRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self.body_field is not None and 400 not in self.responses:
            unreadable = error_responses(400)
            unreadable[400]["description"] = UNREADABLE_BODY
            self.responses = {**unreadable, **self.responses}

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SaaSKitError as error:
                return saaskit_error_response(error)
            except RequestValidationError as error:
                return validation_error_response(error)
            except HTTPException as error:
                return http_error_response(error)

        return route_handler


def new_router() -> APIRouter:
    return APIRouter(route_class=SaaSKitRoute)

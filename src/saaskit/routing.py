"""Route class for saaskit's routers.

Errors raised inside saaskit's own routes become saaskit error responses even when the
host app did not install saaskit's exception handlers, so ``include_router`` alone is
safe: a 422 never echoes a password back. Routes that take a body also declare the 400
FastAPI answers when it cannot read one (bytes that are not UTF-8, a broken form).

Bodies are read within the router's :class:`BodyLimits`: JSON nesting and member count
(:mod:`saaskit.json_limits`), and for routers whose bodies are always small (auth,
users) a byte limit far below the app-wide one, so an anonymous client cannot make a
login or a registration parse a megabyte.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from fastapi.utils import generate_unique_id
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException
from starlette.routing import Match, compile_path
from starlette.types import Receive, Scope
from typing_extensions import override

from saaskit.errors import (
    error_responses,
    http_error_response,
    saaskit_error_response,
    validation_error_response,
)
from saaskit.exceptions import SaaSKitError
from saaskit.json_limits import JsonLimits, JsonTooComplex, loads_bounded
from saaskit.openapi import missing_errors
from saaskit.settings import HttpSettings

F = TypeVar("F", bound=Callable[..., Any])

UNREADABLE_BODY = "The body could not be read (not UTF-8, or a broken form)"
BODY_TOO_LARGE = "The body is over the size limit (the route's, or the app's)"


def with_body_schema(endpoint: F, schema: type[Any]) -> F:
    """Make ``endpoint``'s ``body`` parameter use ``schema`` (a host's extended model).

    FastAPI reads parameter types from the signature, so a host-supplied schema is set
    on the annotations before the route is added.
    """
    endpoint.__annotations__ = {**endpoint.__annotations__, "body": schema}
    return endpoint


@dataclass(frozen=True)
class BodyLimits:
    """What a router's routes read: JSON limits, and an optional byte limit."""

    json: JsonLimits = field(default_factory=JsonLimits)
    max_bytes: int | None = None
    """Bodies over this many bytes get 413 before they are read (None: the app's limit)."""


class BodyTooLarge(HTTPException):
    # An HTTPException, so FastAPI's body reading lets it through unchanged.
    """A request body over its route's limit (413)."""

    def __init__(self, max_bytes: int) -> None:
        message = f"The request body is larger than {max_bytes} bytes."
        super().__init__(413, message, headers={"Connection": "close"})


class _JsonRefused(HTTPException):
    def __init__(self, message: str) -> None:
        super().__init__(422, message)

    def response(self) -> Response:
        error = {"type": "json_too_complex", "loc": ("body",), "msg": str(self.detail)}
        return validation_error_response(RequestValidationError([error]))


class BoundedRequest(Request):
    """A request whose body is read within :class:`BodyLimits`."""

    def __init__(self, scope: Scope, receive: Receive, limits: BodyLimits) -> None:
        super().__init__(scope, receive)
        self.limits = limits

    @override
    async def stream(self) -> AsyncGenerator[bytes, None]:
        maximum = self.limits.max_bytes
        if maximum is None or hasattr(self, "_body"):
            async for chunk in super().stream():
                yield chunk
            return
        declared = self.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > maximum:
            raise BodyTooLarge(maximum)  # refused unread
        received = 0
        async for chunk in super().stream():
            received += len(chunk)
            if received > maximum:
                raise BodyTooLarge(maximum)
            yield chunk

    @override
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = loads_bounded(await self.body(), self.limits.json)
            except JsonTooComplex as error:
                raise _JsonRefused(str(error)) from None
        return self._json


class _CredentialCheck(Protocol):
    auto_error: bool

    async def check_request(self, request: Request) -> None: ...


def _bearer_check(dependant: Dependant) -> _CredentialCheck | None:
    """The kit's auth dependency this route uses, if any (a required one first)."""
    stack = list(dependant.dependencies)
    optional: _CredentialCheck | None = None
    while stack:
        dependency = stack.pop()
        found: _CredentialCheck | None = getattr(dependency.call, "__saaskit_authenticator__", None)
        if found is not None and found.auto_error:
            return found
        optional = optional or found
        stack.extend(dependency.dependencies)
    return optional


class SaaSKitRoute(APIRoute):
    """A route whose request bodies are read within :attr:`limits`."""

    limits: ClassVar[BodyLimits] = BodyLimits()
    saaskit_route: ClassVar[bool] = True

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        added: dict[int | str, dict[str, Any]] = {}
        if self.body_field is not None:
            added = error_responses(400, 413)
            added[400]["description"] = UNREADABLE_BODY
            added[413]["description"] = BODY_TOO_LARGE
        # Invalid input gets saaskit's 422 (not FastAPI's HTTPValidationError), and the
        # kit's dependencies add theirs (401, 402, 403...).
        added |= error_responses(*missing_errors(self, validation=True))
        added = {status: value for status, value in added.items() if status not in self.responses}
        if added:
            # Built again so that FastAPI documents the added bodies (it reads `responses`
            # when it builds a route).
            super().__init__(path, endpoint, **{**kwargs, "responses": {**added, **self.responses}})
        # FastAPI reads the body before it runs dependencies: check the token first.
        self.bearer_check = _bearer_check(self.dependant) if self.body_field else None

    @override
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                if self.bearer_check is not None:
                    await self.bearer_check.check_request(request)
                return await handler(BoundedRequest(request.scope, request.receive, self.limits))
            except _JsonRefused as error:
                return error.response()
            except SaaSKitError as error:
                return saaskit_error_response(error)
            except RequestValidationError as error:
                return validation_error_response(error)
            except HTTPException as error:
                return http_error_response(error)

        return route_handler


@functools.cache
def route_class(limits: BodyLimits) -> type[SaaSKitRoute]:
    """The route class reading bodies within ``limits``.

    One class per limits, so it survives ``include_router``, which re-creates routes from their
    class.
    """
    return type("SaaSKitRoute", (SaaSKitRoute,), {"limits": limits})


def body_limits(http: HttpSettings, *, small: bool = False) -> BodyLimits:
    """The limits from settings; ``small`` for routers whose bodies are always small."""
    members = http.max_auth_json_members if small else http.max_json_members
    return BodyLimits(
        JsonLimits(max_depth=http.max_json_depth, max_members=members),
        max_bytes=http.max_auth_body_bytes if small else None,
    )


def operation_id(route: APIRoute) -> str:
    """The OpenAPI operation id of a kit route: its name, ``auth:login`` -> ``auth_login``.

    Generated clients name their functions after it (``auth_login``, ``authLogin``), so it
    is short and stays the same when a path or a prefix changes. A route without a
    ``feature:action`` name keeps FastAPI's default.
    """
    if ":" in route.name:
        return route.name.replace(":", "_")
    return generate_unique_id(route)


def _included_router(scope: Scope) -> Any:
    """The FastAPI include being matched (FastAPI >= 0.16x keeps includes as nodes)."""
    fastapi_scope = scope.get("fastapi")
    return fastapi_scope.get("included_router") if isinstance(fastapi_scope, dict) else None


_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")

PATH_FILTER = True
"""For tests only: ``False`` turns :class:`KitRouter`'s path filter off (read on every match),
so a test can check that routing answers the same with and without it."""


class KitRouter(APIRouter):
    """An APIRouter that is skipped at once for a path none of its routes can match.

    FastAPI 0.16x keeps an included router as one node and, to match a request, tries every
    route inside it in Python, whatever the path: a host route declared after
    ``kit.install`` was matched against each of the kit's ~60 routes first, which cost more
    than the rest of an authenticated request. Here one regular expression, the union of
    the routes' paths under the prefix the router is included at, answers first; a path it
    does not match cannot match any route of the router, not even partially (as for a 405),
    so the router answers ``NONE`` without trying them. On FastAPI versions that copy the
    routes into the app instead, this is never called.
    """

    def _version(self) -> int:
        """Changes when a route is added here or to a router included here."""
        versions = getattr(self, "_get_routes_version", None)
        return int(versions()) if versions is not None else len(self.routes)

    def _path_filter(self, prefix: str) -> re.Pattern[str] | None:
        """The union of the routes' path patterns under ``prefix`` (None: cannot build one)."""
        version = self._version()
        filters: dict[str, tuple[int, re.Pattern[str] | None]]
        filters = self.__dict__.setdefault("_saaskit_path_filters", {})
        cached = filters.get(prefix)
        if cached is not None and cached[0] == version:
            return cached[1]
        union = self._union(prefix)
        filters[prefix] = (version, union)
        return union

    def _union(self, prefix: str) -> re.Pattern[str] | None:
        patterns: list[str] = []
        for route in self.routes:
            if isinstance(route, APIRoute):
                regex = compile_path(prefix + route.path)[0].pattern
                patterns.append(_NAMED_GROUP.sub("(?:", regex))
                continue
            # A router included in this one (FastAPI's include node): its own union.
            nested = getattr(route, "original_router", None)
            nested_prefix = getattr(getattr(route, "include_context", None), "prefix", None)
            if not isinstance(nested, KitRouter) or not isinstance(nested_prefix, str):
                return None  # a mount, a host's router: no filter
            inner = nested._union(prefix + nested_prefix)
            if inner is None:
                return None
            patterns.append(inner.pattern)
        return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))

    @override
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        included = _included_router(scope)
        if PATH_FILTER and getattr(included, "original_router", None) is self:
            prefix: str = getattr(getattr(included, "include_context", None), "prefix", "")
            path_filter = self._path_filter(prefix)
            if path_filter is not None and path_filter.match(get_route_path(scope)) is None:
                return Match.NONE, {}
        return super().matches(scope)


def new_router(limits: BodyLimits | None = None) -> APIRouter:
    """A router for saaskit routes, reading bodies within ``limits``."""
    return KitRouter(
        route_class=route_class(limits or BodyLimits()), generate_unique_id_function=operation_id
    )

"""HTTP error shape and exception handlers.

Every error response has one body shape::

    {"error": {"code": "invalid_credentials", "message": "Incorrect email or password."}}

Validation errors add ``fields`` (location, message, type) and never echo the submitted
value, so a rejected password never travels back in a response or a log line.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from saaskit import exceptions as exc
from saaskit.exceptions import ErrorCode
from saaskit.observability.requestid import (
    REQUEST_ID,
    REQUEST_ID_HEADER_SCOPE_KEY,
    REQUEST_ID_SCOPE_KEY,
)

logger = logging.getLogger("saaskit")

STATUS_BY_ERROR: dict[type[exc.SaaSKitError], int] = {
    exc.InvalidCredentials: 401,
    exc.InvalidToken: 401,
    exc.NotAuthenticated: 401,
    exc.InactiveUser: 401,
    exc.PermissionDenied: 403,
    exc.ReauthenticationRequired: 403,
    exc.ImpersonationForbidden: 403,
    exc.MfaRequired: 403,
    exc.EmailAlreadyRegistered: 409,
    exc.EmailNotVerified: 403,
    exc.InvalidLinkToken: 400,
    exc.InvalidPassword: 422,
    exc.InvalidInput: 422,
    exc.UserNotFound: 404,
    exc.SessionNotFound: 404,
    exc.RateLimited: 429,
    exc.ServiceUnavailable: 503,
    exc.SubscriptionRequired: 402,
    exc.PlanRequired: 403,
    exc.FeatureNotInPlan: 403,
    exc.UnknownPlan: 400,
    exc.RedirectNotAllowed: 400,
    exc.AlreadySubscribed: 409,
    exc.NoSubscription: 409,
    exc.PreviewExpired: 409,
    exc.BillingRejected: 502,
    exc.BillingOwnerNotFound: 404,
    exc.InvalidWebhookSignature: 400,
    exc.InvalidWebhook: 400,
    exc.WebhookFailed: 500,
    exc.AIModelNotAllowed: 422,
    exc.AIModelNotInPlan: 403,
    exc.AIQuotaExceeded: 429,
    exc.AIUpstreamError: 502,
    exc.AIUpstreamRateLimited: 503,
    exc.AIUpstreamTimeout: 504,
}

# Where SecurityHeadersMiddleware leaves its headers for the 500 handler.
SECURITY_HEADERS_SCOPE_KEY = "saaskit.security_headers"

_CODE_BY_STATUS = {
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
}


class FieldError(BaseModel):
    """One invalid field of a request: where, what, and the pydantic error type."""

    loc: list[str | int]
    message: str
    type: str


class ErrorDetail(BaseModel):
    """What went wrong: a stable code for programs, a message for people."""

    code: str = Field(examples=["invalid_credentials"])
    """Stable and machine-readable: one of saaskit's :class:`ErrorCode` values, or a
    feature's own code."""
    message: str
    fields: list[FieldError] | None = None
    fields_total: int | None = None
    """How many invalid fields there were, when ``fields`` lists only the first ones."""
    plans: list[str] | None = None
    """Plans that would allow the request (billing errors 402 / 403)."""
    organizations: list[int] | None = None
    """Organizations that block the request (deleting the last owner of organizations: 409
    ``organization_owner_cannot_be_deleted``)."""
    challenge_token: str | None = None
    """The second-factor challenge to complete (403 ``mfa_required`` from a login): send it
    with a code to ``POST /mfa/verify``. Short-lived, single use, never a bearer token."""
    request_id: str | None = None
    """The request's id (also in the ``X-Request-ID`` response header), to quote in a
    support request: it finds the request's log lines."""


class ErrorResponse(BaseModel):
    """The body of every saaskit error response."""

    error: ErrorDetail


def status_for(error: exc.SaaSKitError) -> int:
    """The HTTP status for a domain exception (most specific class wins).

    A class's status is its entry in :data:`STATUS_BY_ERROR` or its own ``status``
    attribute; the generic code ``error`` is 400. An exception with another code whose
    classes declare no status is answered 400, as before, with a ``DeprecationWarning``:
    declare ``status`` on the class.
    """
    status = declared_status(type(error))
    if status is not None:
        return status
    if error.code != ErrorCode.ERROR:
        warnings.warn(
            f"{type(error).__qualname__} declares no HTTP status; answering 400. "
            "Set `status = ...` on the class.",
            DeprecationWarning,
            stacklevel=2,
        )
    return 400


def declared_status(cls: type[exc.SaaSKitError]) -> int | None:
    """The status ``cls`` or a base declares (:data:`STATUS_BY_ERROR` or ``status``)."""
    for klass in cls.__mro__:
        if klass in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[klass]
        declared = klass.__dict__.get("status")
        if isinstance(declared, int):
            return declared
    return None


def error_json(
    status: int,
    code: str,
    message: str,
    *,
    fields: list[FieldError] | None = None,
    fields_total: int | None = None,
    headers: Mapping[str, str] | None = None,
    plans: list[str] | None = None,
    organizations: list[int] | None = None,
    request_id: str | None = None,
    challenge_token: str | None = None,
) -> JSONResponse:
    """Build saaskit's error response (an :class:`ErrorResponse` body).

    Every error the kit answers goes through here, so all share one shape.

    Args:
        status: the HTTP status.
        code: the error's stable code (an :class:`ErrorCode` value or a feature's own).
        message: what went wrong, for people.
        fields: the invalid fields (validation errors).
        fields_total: how many fields were invalid, when ``fields`` lists only some.
        headers: extra response headers (``Retry-After``, ``WWW-Authenticate``, ...).
        plans: the plans that would allow the request (billing errors).
        organizations: the organizations that block the request.
        challenge_token: the second-factor challenge (403 ``mfa_required``).
        request_id: the request's id (default: the current request's).

    Returns:
        The JSON response; fields that are ``None`` are left out of the body.
    """
    detail = ErrorDetail(
        code=code,
        message=message,
        fields=fields,
        fields_total=fields_total,
        plans=plans,
        organizations=organizations,
        challenge_token=challenge_token,
        request_id=request_id or REQUEST_ID.get(),
    )
    body = ErrorResponse(error=detail)
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True), status_code=status, headers=headers
    )


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, invalid or expired credentials",
    402: "A subscription is required; `plans` lists those that allow this",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Request body too large",
    422: "Invalid input (submitted values are never echoed)",
    429: "Rate limited; see Retry-After",
    500: "Internal error",
    502: "A provider (payments, AI) failed or rejected the request",
    503: "A backing service is unavailable",
    504: "A provider (AI) did not answer in time",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the given statuses, all with :class:`ErrorResponse`."""
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS.get(status, "Error")}
        for status in statuses
    }


MAX_FIELD_ERRORS = 20
"""A 422 lists at most this many invalid fields (and says how many there were)."""
_MAX_TEXT = 120  # a location part or message longer than this is cut (keys are client input)


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."


def _field_errors(errors: Iterable[Any]) -> list[FieldError]:
    fields = []
    for err in errors:
        loc = [part if isinstance(part, int) else _cut(str(part)) for part in err.get("loc", ())]
        message, kind = _cut(str(err.get("msg", ""))), _cut(str(err.get("type", "")))
        fields.append(FieldError(loc=loc, message=message, type=kind))
    return fields


def saaskit_error_response(error: exc.SaaSKitError) -> JSONResponse:
    """The response for a domain exception (with Retry-After / WWW-Authenticate)."""
    headers = None
    challenge = error.challenge_token if isinstance(error, exc.MfaRequired) else None
    if challenge is not None:
        headers = {"Cache-Control": "no-store"}
    elif isinstance(error, exc.RateLimited):
        headers = {"Retry-After": str(error.retry_after)}
    elif status_for(error) == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    headers = {**(headers or {}), **error.response_headers()} or None
    plans = error.plans if isinstance(error, exc.EntitlementRequired) else None
    # A feature's error may name organizations (saaskit.orgs: account deletion).
    named = getattr(error, "organizations", None)
    organizations = [int(i) for i in named] if isinstance(named, list) else None
    return error_json(
        status_for(error),
        error.code,
        error.message,
        headers=headers,
        plans=plans,
        organizations=organizations,
        challenge_token=challenge,
    )


def validation_error_response(error: RequestValidationError) -> JSONResponse:
    """Answer a request that failed validation: 422 listing the invalid fields.

    Only the first :data:`MAX_FIELD_ERRORS` fields are listed (``fields_total`` then
    counts them all), and never the submitted values, so the response's size never
    grows with the size of a hostile body.
    """
    errors = error.errors()
    shown = _field_errors(itertools.islice(errors, MAX_FIELD_ERRORS))
    total = len(errors)
    if total <= MAX_FIELD_ERRORS:
        return error_json(
            422, ErrorCode.VALIDATION_ERROR, "The request is invalid; see `fields`.", fields=shown
        )
    message = f"The request is invalid; `fields` lists the first {len(shown)} of {total} problems."
    return error_json(422, ErrorCode.VALIDATION_ERROR, message, fields=shown, fields_total=total)


def http_error_response(error: StarletteHTTPException) -> JSONResponse:
    """An ``HTTPException`` (FastAPI's, Starlette's or a host's) in saaskit's error shape."""
    code = _CODE_BY_STATUS.get(error.status_code, ErrorCode.HTTP_ERROR)
    message = error.detail if isinstance(error.detail, str) else "HTTP error."
    return error_json(error.status_code, code, message, headers=error.headers)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return http_error_response(error)


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    # The traceback goes to the log only; the client gets a generic body. This handler
    # runs outside every middleware: the request id comes back from the scope.
    request_id: str | None = request.scope.get(REQUEST_ID_SCOPE_KEY)
    token = REQUEST_ID.set(request_id)
    try:
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    finally:
        REQUEST_ID.reset(token)
    security = request.scope.get(SECURITY_HEADERS_SCOPE_KEY, ())
    headers = {name.decode(): value.decode() for name, value in security}
    header = request.scope.get(REQUEST_ID_HEADER_SCOPE_KEY)
    if request_id and header:
        headers[header] = request_id
    return error_json(
        500,
        ErrorCode.INTERNAL_ERROR,
        "Internal server error.",
        headers=headers,
        request_id=request_id,
    )


async def _saaskit_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, exc.SaaSKitError)
    return saaskit_error_response(error)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return validation_error_response(error)


def install_error_handlers(app: FastAPI) -> None:
    """Register saaskit's handlers so every error has the :class:`ErrorResponse` shape."""
    app.add_exception_handler(exc.SaaSKitError, _saaskit_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

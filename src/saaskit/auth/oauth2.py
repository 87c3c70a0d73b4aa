"""OAuth 2.0 token and revocation endpoints, for standard client libraries.

``POST {prefix}/auth/token`` is an RFC 6749 token endpoint for the two grants the kit has:
``password`` (§4.3) and ``refresh_token`` (§6). ``POST {prefix}/auth/revoke`` is an RFC 7009
revocation endpoint. They exist so that Authlib, requests-oauthlib, AppAuth or Swagger's
Authorize button work without glue: those send form-encoded requests and read errors as
``{"error": "invalid_grant", "error_description": ...}`` (§5.2), so these two routes answer
in that shape, on purpose, instead of saaskit's error envelope. ``/auth/login`` and
``/auth/refresh`` keep JSON and the envelope.

No rule lives here: a grant calls ``kit.auth.login`` or ``kit.auth.refresh``, a revocation
``kit.auth.revoke``, so rate limits, rotation and reuse detection are exactly those of the
JSON routes. The kit has public clients only (no client secrets), so ``client_id`` and any
client authentication are accepted and ignored, and ``invalid_client`` never occurs.

Security notes (docs/clients.md lists the tests): parameters are read from the body only,
never from the query string (which ends up in access logs); a parameter sent twice is
refused (§3.2); error descriptions are fixed texts that never hold submitted values; every
answer carries ``Cache-Control: no-store`` and ``Pragma: no-cache`` (§5.1); a scope is
refused rather than silently widened to a full token; and revocation answers ``200``
whatever the token (RFC 7009 §2.2), so it cannot be used to test tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import ClientDisconnect

from saaskit.auth.schemas import LoginRequest, RefreshRequest, TokenPair
from saaskit.auth.service import AuthService
from saaskit.auth.tokens import TokenType
from saaskit.exceptions import MfaRequired, RateLimited, SaaSKitError, ServiceUnavailable
from saaskit.routing import BodyTooLarge, body_limits, new_router
from saaskit.settings import SaaSKitSettings
from saaskit.types import ClientInfo, UserT


class OAuth2Kit(Protocol[UserT]):
    """What the OAuth 2.0 router needs of the kit (:class:`saaskit.SaaSKit` has it)."""

    @property
    def settings(self) -> SaaSKitSettings:
        """The settings the token endpoint reads (``auth``, ``http``)."""
        ...

    @property
    def auth(self) -> AuthService[UserT]:
        """The auth service that logs in and refreshes."""
        ...

    @property
    def client_info(self) -> Callable[[Request], ClientInfo]:
        """Resolves the client (address, user agent) of a request."""
        ...


OAuthErrorCode = Literal[
    "mfa_required",
    "invalid_request",
    "invalid_grant",
    "invalid_scope",
    "unsupported_grant_type",
    "unsupported_token_type",
    "temporarily_unavailable",
]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM = "application/x-www-form-urlencoded"
_HINTS: dict[str, TokenType] = {"access_token": "access", "refresh_token": "refresh"}
_LOGIN_FIELDS = {"email": "username", "password": "password"}  # LoginRequest's -> the form's


class OAuthError(BaseModel):
    """An error of the token and revocation endpoints (RFC 6749 §5.2)."""

    error: OAuthErrorCode
    error_description: str = Field(description="For developers; never holds submitted values.")
    mfa_token: str | None = Field(
        default=None,
        description="With `mfa_required` (403): the challenge to complete at POST /mfa/verify.",
    )


class OAuthProblem(Exception):
    """Raised inside this module; becomes an :class:`OAuthError` response."""

    def __init__(
        self,
        error: OAuthErrorCode,
        description: str,
        *,
        status_code: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code
        self.headers = headers or {}
        self.mfa_token: str | None = None

    def response(self) -> JSONResponse:
        """The error as RFC 6749 answers it (``error``, ``error_description``)."""
        body = OAuthError(
            error=self.error, error_description=self.description, mfa_token=self.mfa_token
        )
        return JSONResponse(
            body.model_dump(exclude_none=True),
            status_code=self.status_code,
            headers={**NO_STORE, **self.headers},
        )


def from_service_error(error: SaaSKitError) -> OAuthProblem:
    """The OAuth error for a refusal by the auth service (its message is a fixed text)."""
    if isinstance(error, MfaRequired):
        # The shape Auth0's password grant uses: 403 `mfa_required` with an `mfa_token`.
        problem = OAuthProblem("mfa_required", error.message, status_code=403)
        problem.mfa_token = error.challenge_token
        return problem
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(error.retry_after)}
        return OAuthProblem(
            "temporarily_unavailable", error.message, status_code=429, headers=headers
        )
    if isinstance(error, ServiceUnavailable):
        return OAuthProblem("temporarily_unavailable", error.message, status_code=503)
    # Wrong or unknown credentials, an unverified email, a bad, expired or reused refresh
    # token: "the provided authorization grant ... is invalid" (§5.2).
    return OAuthProblem("invalid_grant", error.message)


async def read_form(request: Request) -> dict[str, str]:
    """The form parameters of ``request``, each sent once (RFC 6749 §3.2).

    Read within the route's body limits; a body over them is ``413 invalid_request``.
    """
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != FORM:
        raise OAuthProblem("invalid_request", f"The body must be {FORM}.")
    try:
        form = await request.form()
    except BodyTooLarge as error:  # the route's byte limit (16 KiB on auth routes)
        message = "The request body is over the size limit."
        raise OAuthProblem(
            "invalid_request", message, status_code=413, headers=dict(error.headers or {})
        ) from None
    except (ClientDisconnect, ValueError) as error:
        raise OAuthProblem("invalid_request", "The form could not be read.") from error
    values: dict[str, str] = {}
    for name in form:
        found = form.getlist(name)
        if len(found) > 1:
            raise OAuthProblem("invalid_request", "A parameter was sent more than once.")
        if isinstance(found[0], str) and found[0]:  # an empty value counts as omitted (§3.1)
            values[name] = found[0]
    return values


def _validated(model: type[BaseModel], data: dict[str, str]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        names = sorted(
            {_LOGIN_FIELDS.get(str(e["loc"][0]), str(e["loc"][0])) for e in error.errors()}
        )
        raise OAuthProblem(
            "invalid_request", f"Missing or invalid parameter: {', '.join(names)}."
        ) from None


_TOKEN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "title": "TokenRequest",
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["password", "refresh_token"]},
                        "username": {
                            "type": "string",
                            "description": "The email address (`password` grant).",
                        },
                        "password": {
                            "type": "string",
                            "format": "password",
                            "description": "`password` grant.",
                        },
                        "refresh_token": {
                            "type": "string",
                            "description": "`refresh_token` grant.",
                        },
                        "scope": {"type": "string", "description": "Must be empty or omitted."},
                        "client_id": {"type": "string", "description": "Accepted and ignored."},
                    },
                }
            }
        },
    }
}

_REVOKE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "title": "RevokeRequest",
                    "type": "object",
                    "required": ["token"],
                    "properties": {
                        "token": {"type": "string", "description": "An access or refresh token."},
                        "token_type_hint": {
                            "type": "string",
                            "enum": ["access_token", "refresh_token"],
                        },
                        "client_id": {"type": "string", "description": "Accepted and ignored."},
                    },
                }
            }
        },
    }
}


def _responses(**described: str) -> dict[int | str, dict[str, Any]]:
    return {int(code[1:]): {"model": OAuthError, "description": d} for code, d in described.items()}


def build_oauth2_router(kit: OAuth2Kit[UserT]) -> APIRouter:
    """``POST /token`` and ``POST /revoke``, mounted with the auth router."""
    router = new_router(body_limits(kit.settings.http, small=True))

    @router.post(
        "/token",
        name="auth:token",
        response_model=TokenPair,
        status_code=status.HTTP_200_OK,
        summary="OAuth 2.0 token endpoint (password and refresh_token grants)",
        responses=_responses(
            s400="`invalid_request`, `invalid_grant`, `invalid_scope` or "
            "`unsupported_grant_type` (RFC 6749 §5.2)",
            s403="`mfa_required`: the account has 2FA; complete `mfa_token` at POST /mfa/verify",
            s413="`invalid_request`: the body is over the size limit",
            s429="`temporarily_unavailable`: rate limited; see Retry-After",
            s503="`temporarily_unavailable`: a backing service is unavailable",
        ),
        openapi_extra=_TOKEN_BODY,
    )
    async def token(request: Request) -> Any:
        """Log in or rotate a refresh token (the OAuth 2.0 token endpoint).

        ``grant_type=password`` or ``grant_type=refresh_token``, form-encoded; errors in the
        RFC 6749 shape.
        """
        try:
            tokens = await _grant(kit, request, await read_form(request))
        except OAuthProblem as problem:
            return problem.response()
        except SaaSKitError as error:
            return from_service_error(error).response()
        return JSONResponse(tokens.model_dump(), headers=NO_STORE)

    @router.post(
        "/revoke",
        name="auth:revoke",
        response_class=Response,
        status_code=status.HTTP_200_OK,
        summary="OAuth 2.0 token revocation (RFC 7009)",
        responses={
            200: {"description": "Revoked, or nothing to revoke (the same answer)"},
            **_responses(
                s400="`invalid_request` (no token) or `unsupported_token_type` (unknown hint)",
                s413="`invalid_request`: the body is over the size limit",
                s503="`temporarily_unavailable`: a backing service is unavailable",
            ),
        },
        openapi_extra=_REVOKE_BODY,
    )
    async def revoke(request: Request) -> Response:
        """End the session of a refresh or access token; ``200`` for any token."""
        try:
            form = await read_form(request)
            if "token" not in form:
                raise OAuthProblem("invalid_request", "Missing parameter: token.")
            hint = form.get("token_type_hint")
            if hint is not None and hint not in _HINTS:
                raise OAuthProblem("unsupported_token_type", "Unknown token_type_hint.")
            await kit.auth.revoke(
                form["token"],
                hint=_HINTS[hint] if hint else None,
                client=kit.client_info(request),
            )
        except OAuthProblem as problem:
            return problem.response()
        except SaaSKitError as error:
            return from_service_error(error).response()
        return Response(status_code=status.HTTP_200_OK, headers=NO_STORE)

    return router


async def _grant(kit: OAuth2Kit[UserT], request: Request, form: dict[str, str]) -> TokenPair:
    """Run the grant that ``form`` asks for through the auth service."""
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise OAuthProblem("invalid_request", "Missing parameter: grant_type.")
    if grant_type not in ("password", "refresh_token"):
        raise OAuthProblem("unsupported_grant_type", "Supported: password, refresh_token.")
    if "scope" in form:
        # Tokens carry no scopes: granting a full token to a client that asked for less
        # would widen its access behind its back (§3.3).
        raise OAuthProblem("invalid_scope", "This server issues tokens without scopes.")
    client = kit.client_info(request)
    if grant_type == "password":
        credentials: LoginRequest = _validated(
            LoginRequest, {k: form[f] for k, f in _LOGIN_FIELDS.items() if f in form}
        )
        # With 2FA on, this raises MfaRequired: 403 `mfa_required` with an `mfa_token`.
        _, tokens = await kit.auth.login(credentials.email, credentials.password, client=client)
        return tokens
    body: RefreshRequest = _validated(
        RefreshRequest, {"refresh_token": form["refresh_token"]} if "refresh_token" in form else {}
    )
    return await kit.auth.refresh(body.refresh_token, client=client)

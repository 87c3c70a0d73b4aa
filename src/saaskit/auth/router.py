"""The auth router: register, login, refresh, logout, sessions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from saaskit.auth.dependencies import AuthDependencies, Principal
from saaskit.auth.oauth2 import OAuth2Kit, build_oauth2_router
from saaskit.auth.recovery import AccountRecovery
from saaskit.auth.schemas import (
    Accepted,
    EmailRequest,
    LoginRequest,
    Reauthenticated,
    ReauthenticateRequest,
    RefreshRequest,
    ResetPasswordRequest,
    SessionRead,
    TokenPair,
    VerifyEmailRequest,
)
from saaskit.auth.sessions import SessionManager
from saaskit.errors import error_responses
from saaskit.routing import body_limits, new_router, with_body_schema
from saaskit.types import UserT
from saaskit.users.schemas import UserCreate


class AuthRouterKit(OAuth2Kit[UserT], Protocol[UserT]):
    """What the auth router needs of the kit (:class:`saaskit.SaaSKit` has it)."""

    @property
    def recovery(self) -> AccountRecovery[UserT]: ...

    @property
    def sessions(self) -> SessionManager: ...

    @property
    def dependencies(self) -> AuthDependencies[UserT]: ...

    @property
    def user_read_schema(self) -> type[BaseModel]: ...

    @property
    def user_create_schema(self) -> type[UserCreate]: ...


_LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "username": {"type": "string", "description": "The email address."},
                        "password": {"type": "string", "format": "password"},
                    },
                }
            },
            "application/json": {"schema": LoginRequest.model_json_schema()},
        },
    }
}


async def _read_login(request: Request) -> LoginRequest:
    """The credentials from a JSON body or an OAuth2 password form."""
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("application/json"):
            try:
                data = await request.json()  # within the router's JSON limits
            except json.JSONDecodeError as error:
                raise RequestValidationError(
                    [{"type": "json_invalid", "loc": ("body", error.pos), "msg": error.msg}]
                ) from None
            except UnicodeDecodeError:
                raise RequestValidationError(
                    [{"type": "json_invalid", "loc": ("body",), "msg": "The body is not UTF-8."}]
                ) from None
            return LoginRequest.model_validate(data)
        form = await request.form()
        return LoginRequest.model_validate(
            {"email": form.get("username"), "password": form.get("password")}
        )
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_input=False)]
        ) from error


def _to_read(
    session_id: str,
    current: str,
    *,
    created: int,
    used: int,
    expires: int,
    ip: str | None,
    agent: str | None,
    actor: int | None = None,
) -> SessionRead:
    def ts(value: int) -> datetime:
        return datetime.fromtimestamp(value, UTC)

    return SessionRead(
        id=session_id,
        created_at=ts(created),
        last_used_at=ts(used),
        expires_at=ts(expires),
        ip=ip,
        user_agent=agent,
        current=session_id == current,
        impersonated_by=actor,
    )


def build_auth_router(kit: AuthRouterKit[UserT]) -> APIRouter:
    """Routes under ``{api_prefix}/auth``."""
    router = new_router(body_limits(kit.settings.http, small=True))
    read_schema = kit.user_read_schema
    deps = kit.dependencies

    async def register(body: UserCreate, request: Request) -> Any:
        data = body.model_dump(exclude={"email", "password", "full_name"})
        user = await kit.auth.register(
            body.email,
            body.password,
            full_name=body.full_name,
            extra=data,
            client=kit.client_info(request),
        )
        return read_schema.model_validate(user)

    router.add_api_route(
        "/register",
        with_body_schema(register, kit.user_create_schema),
        methods=["POST"],
        name="auth:register",
        status_code=status.HTTP_201_CREATED,
        response_model=read_schema,
        responses=error_responses(409, 413, 422, 429, 503),
    )

    @router.post(
        "/login",
        name="auth:login",
        response_model=TokenPair,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 403, 413, 422, 429, 503),
        openapi_extra=_LOGIN_BODY,
    )
    async def login(request: Request, response: Response) -> TokenPair:
        credentials = await _read_login(request)
        _, tokens = await kit.auth.login(
            credentials.email, credentials.password, client=kit.client_info(request)
        )
        response.headers["Cache-Control"] = "no-store"
        return tokens

    @router.post(
        "/refresh",
        name="auth:refresh",
        response_model=TokenPair,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 422, 429, 503),
    )
    async def refresh(body: RefreshRequest, request: Request, response: Response) -> TokenPair:
        response.headers["Cache-Control"] = "no-store"
        return await kit.auth.refresh(body.refresh_token, client=kit.client_info(request))

    @router.post(
        "/logout",
        name="auth:logout",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses(401),
    )
    async def logout(request: Request, p: Principal[UserT] = Depends(deps.principal)) -> None:
        await kit.auth.logout(
            p.claims.session_id, p.claims.user_id, client=kit.client_info(request)
        )

    @router.post(
        "/logout-all",
        name="auth:logout_all",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses(401),
    )
    async def logout_all(request: Request, p: Principal[UserT] = Depends(deps.principal)) -> None:
        await kit.auth.logout_all(p.claims.user_id, client=kit.client_info(request))

    @router.get(
        "/sessions",
        name="auth:sessions",
        response_model=list[SessionRead],
        status_code=status.HTTP_200_OK,
        responses=error_responses(401),
    )
    async def sessions(p: Principal[UserT] = Depends(deps.principal)) -> list[SessionRead]:
        return [
            _to_read(
                s.id,
                p.claims.session_id,
                created=s.created_at,
                used=s.last_used_at,
                expires=s.expires_at,
                ip=s.ip,
                agent=s.user_agent,
                actor=s.actor_id,
            )
            for s in await kit.sessions.for_user(p.claims.user_id)
        ]

    @router.delete(
        "/sessions/{session_id}",
        name="auth:delete_session",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses(401, 404),
    )
    async def delete_session(
        session_id: str, request: Request, p: Principal[UserT] = Depends(deps.principal)
    ) -> None:
        await kit.auth.revoke_session(session_id, p.claims.user_id, client=kit.client_info(request))

    @router.post(
        "/reauthenticate",
        name="auth:reauthenticate",
        response_model=Reauthenticated,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 403, 422, 429),
    )
    async def reauthenticate(
        body: ReauthenticateRequest,
        request: Request,
        p: Principal[UserT] = Depends(deps.owner_principal),
    ) -> Reauthenticated:
        """Confirm the password in this session.

        It allows the security-sensitive actions (changing the email, deleting the account)
        for the next few minutes.
        """
        until = await kit.auth.reauthenticate(
            p.session, body.password, client=kit.client_info(request)
        )
        return Reauthenticated(authenticated_until=datetime.fromtimestamp(until, UTC))

    @router.post(
        "/confirm-email-change",
        name="auth:confirm_email_change",
        status_code=status.HTTP_200_OK,
        response_model=read_schema,
        responses=error_responses(400, 409, 422),
    )
    async def confirm_email_change(body: VerifyEmailRequest, request: Request) -> Any:
        """Switch the account to the new address with the token from the link sent there."""
        user = await kit.recovery.confirm_email_change(body.token, client=kit.client_info(request))
        return read_schema.model_validate(user)

    accepted = Accepted(detail="If the account exists, an email is on its way.")

    @router.post(
        "/request-verify-email",
        name="auth:request_verify_email",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=Accepted,
        responses=error_responses(422, 429),
    )
    async def request_verify_email(body: EmailRequest, request: Request) -> Accepted:
        """Send a new verification link; the same answer for every address."""
        await kit.recovery.request_verification(body.email, client=kit.client_info(request))
        return accepted

    @router.post(
        "/verify-email",
        name="auth:verify_email",
        status_code=status.HTTP_200_OK,
        response_model=read_schema,
        responses=error_responses(400, 422),
    )
    async def verify_email(body: VerifyEmailRequest, request: Request) -> Any:
        """Confirm the address with the token from the link."""
        user = await kit.recovery.verify(body.token, client=kit.client_info(request))
        return read_schema.model_validate(user)

    @router.post(
        "/forgot-password",
        name="auth:forgot_password",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=Accepted,
        responses=error_responses(422, 429),
    )
    async def forgot_password(body: EmailRequest, request: Request) -> Accepted:
        """Email a reset link; the same answer for every address."""
        await kit.recovery.forgot_password(body.email, client=kit.client_info(request))
        return accepted

    @router.post(
        "/reset-password",
        name="auth:reset_password",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses(400, 422),
    )
    async def reset_password(body: ResetPasswordRequest, request: Request) -> None:
        """Set a new password with the token from the link; ends every session."""
        await kit.recovery.reset_password(
            body.token, body.password, client=kit.client_info(request)
        )

    router.include_router(build_oauth2_router(kit))  # POST /token, POST /revoke
    return router

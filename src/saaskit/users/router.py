"""The users router: ``/me`` for everyone, the rest for superusers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel

from saaskit.errors import error_responses
from saaskit.exceptions import UserNotFound
from saaskit.routing import body_limits, new_router, with_body_schema
from saaskit.settings import SaaSKitSettings
from saaskit.types import ClientInfo, Page, UserT, UserT_co, UserT_contra
from saaskit.users.schemas import (
    Accepted,
    EmailChangeRequest,
    PasswordChange,
    UserAdminUpdate,
    UserUpdate,
)
from saaskit.users.service import UserService


class SessionClaims(Protocol):
    """The part of a token's claims the users router reads."""

    @property
    def session_id(self) -> str: ...


class SessionPrincipal(Protocol[UserT_co]):
    """Who is calling, and through which session (:class:`saaskit.auth.dependencies.Principal`)."""

    @property
    def user(self) -> UserT_co: ...

    @property
    def claims(self) -> SessionClaims: ...


class UsersDependencies(Protocol[UserT_co]):
    """The auth dependencies the users router guards its routes with."""

    @property
    def principal(self) -> Callable[..., Awaitable[SessionPrincipal[UserT_co] | None]]: ...

    @property
    def owner_principal(self) -> Callable[..., Awaitable[SessionPrincipal[UserT_co] | None]]: ...

    @property
    def current_active_user(self) -> Callable[..., Awaitable[UserT_co]]: ...

    @property
    def current_reauthenticated_user(self) -> Callable[..., Awaitable[UserT_co]]: ...

    @property
    def current_superuser(self) -> Callable[..., Awaitable[UserT_co]]: ...

    @property
    def current_session_user(self) -> Callable[..., Awaitable[UserT_co]]: ...

    @property
    def session_superuser(self) -> Callable[..., Awaitable[UserT_co]]: ...


class EmailChanges(Protocol[UserT_contra]):
    """Emails the confirmation link of an email change (``AccountRecovery``)."""

    async def request_email_change(
        self, user: UserT_contra, new_email: str, *, client: ClientInfo = ...
    ) -> None: ...


class UsersRouterKit(Protocol[UserT]):
    """What the users router needs of the kit (:class:`saaskit.SaaSKit` has it)."""

    @property
    def settings(self) -> SaaSKitSettings: ...

    @property
    def users(self) -> UserService[UserT]: ...

    @property
    def recovery(self) -> EmailChanges[UserT]: ...

    @property
    def dependencies(self) -> UsersDependencies[UserT]: ...

    @property
    def client_info(self) -> Callable[[Request], ClientInfo]: ...

    @property
    def user_read_schema(self) -> type[BaseModel]: ...

    @property
    def user_update_schema(self) -> type[UserUpdate]: ...


# Ids and offsets beyond a 32-bit INTEGER column overflow the database driver (a 500 on
# SQLite and PostgreSQL); bounding them makes such input a 422 instead.
MAX_ID = 2**31 - 1


def build_users_router(kit: UsersRouterKit[UserT]) -> APIRouter:
    """Routes under ``{api_prefix}/users``."""
    router = new_router(body_limits(kit.settings.http, small=True))
    read_schema = kit.user_read_schema
    deps = kit.dependencies

    @router.get(
        "/me",
        name="users:me",
        response_model=read_schema,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401),
    )
    async def me(user: UserT = Depends(deps.current_active_user)) -> Any:
        return user  # validated once, by the response model

    async def update_me(
        body: UserUpdate, request: Request, user: UserT = Depends(deps.current_session_user)
    ) -> Any:
        changes = body.model_dump(exclude_unset=True)
        updated = await kit.users.update(
            user.id, changes, actor_id=user.id, client=kit.client_info(request)
        )
        return read_schema.model_validate(updated)

    router.add_api_route(
        "/me",
        with_body_schema(update_me, kit.user_update_schema),
        methods=["PATCH"],
        name="users:update_me",
        response_model=read_schema,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 422),
    )

    @router.post(
        "/me/email",
        name="users:change_email",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=Accepted,
        responses=error_responses(401, 403, 409, 422, 429),
    )
    async def change_email(
        body: EmailChangeRequest,
        request: Request,
        user: UserT = Depends(deps.current_reauthenticated_user),
    ) -> Accepted:
        """Send a confirmation link to the new address.

        The email changes when it is opened (``POST /auth/confirm-email-change``), and the
        old address is told.

        Needs a recent login or ``POST /auth/reauthenticate`` (403
        ``reauthentication_required`` otherwise).
        """
        await kit.recovery.request_email_change(
            user, str(body.email), client=kit.client_info(request)
        )
        return Accepted(detail="A confirmation link is on its way to the new address.")

    @router.delete(
        "/me",
        name="users:delete_me",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses(401, 403),
    )
    async def delete_me(
        request: Request, user: UserT = Depends(deps.current_reauthenticated_user)
    ) -> None:
        """Delete the account. Needs a recent login or ``POST /auth/reauthenticate``.

        With the privacy feature on (``SAASKIT_PRIVACY__ENABLED``) this schedules the
        deletion like ``POST /privacy/deletion``: the account is deactivated at once, a
        restore link is emailed, and it is erased after the grace period.
        """
        await kit.users.delete_account(user.id, actor_id=user.id, client=kit.client_info(request))

    @router.post(
        "/me/password",
        name="users:change_password",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses(401, 403, 422),
    )
    async def change_password(
        body: PasswordChange,
        request: Request,
        p: SessionPrincipal[UserT] = Depends(deps.owner_principal),
    ) -> None:
        await kit.users.change_password(
            p.user.id,
            body.current_password,
            body.new_password,
            keep_session=p.claims.session_id,
            client=kit.client_info(request),
        )

    @router.get(
        "",
        name="users:list",
        response_model=Page[read_schema],  # type: ignore[valid-type]
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 403),
    )
    async def list_users(
        limit: int = Query(50, ge=1, le=200),
        offset: int = Query(0, ge=0, le=MAX_ID),
        email: str | None = Query(None, max_length=320, description="Part of the email."),
        _: UserT = Depends(deps.session_superuser),
    ) -> Any:
        users, total = await kit.users.page(limit=limit, offset=offset, email=email)
        items = [read_schema.model_validate(u) for u in users]
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    @router.get(
        "/{user_id}",
        name="users:get",
        response_model=read_schema,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 403, 404),
    )
    async def get_user(
        user_id: int = Path(ge=1, le=MAX_ID), _: UserT = Depends(deps.session_superuser)
    ) -> Any:
        user = await kit.users.get(user_id, replica=True)
        if user is None:
            raise UserNotFound()
        return read_schema.model_validate(user)

    @router.patch(
        "/{user_id}",
        name="users:update",
        response_model=read_schema,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 403, 404, 409, 410, 422),  # 410: privacy, erased
    )
    async def update_user(
        body: UserAdminUpdate,
        request: Request,
        user_id: int = Path(ge=1, le=MAX_ID),
        admin: UserT = Depends(deps.session_superuser),
    ) -> Any:
        changes = body.model_dump(exclude_unset=True)
        updated = await kit.users.update(
            user_id, changes, actor_id=admin.id, client=kit.client_info(request)
        )
        return read_schema.model_validate(updated)

    @router.delete(
        "/{user_id}",
        name="users:delete",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses(401, 403, 404),
    )
    async def delete_user(
        request: Request,
        user_id: int = Path(ge=1, le=MAX_ID),
        admin: UserT = Depends(deps.session_superuser),
    ) -> None:
        """Delete a user (superusers); with the privacy feature on, schedule the deletion."""
        await kit.users.delete_account(user_id, actor_id=admin.id, client=kit.client_info(request))

    return router

"""``/api/v1/admin/impersonation``: start (superusers) and end an impersonation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response, status

from saaskit.errors import error_responses
from saaskit.impersonation.errors import NotImpersonating
from saaskit.impersonation.schemas import ImpersonationStart, ImpersonationStarted
from saaskit.impersonation.service import ImpersonationService
from saaskit.routing import body_limits, new_router

__all__ = ["build_impersonation_router"]


def build_impersonation_router(kit: Any, service: ImpersonationService[Any]) -> APIRouter:
    """The routes (mounted at ``{api_prefix}/admin/impersonation``).

    Args:
        kit: the kit (its dependencies, settings and client resolver).
        service: the impersonation service.
    """
    router = new_router(body_limits(kit.settings.http, small=True))
    deps = kit.dependencies

    @router.post(
        "",
        name="impersonation:start",
        response_model=ImpersonationStarted,
        status_code=status.HTTP_201_CREATED,
        responses=error_responses(401, 403, 404, 422),
        summary="Act as a user (superusers)",
        description="A token pair for the user, valid `SAASKIT_IMPERSONATION__TTL_MINUTES` "
        "at most, whose tokens name you in their `act` claim (RFC 8693). Used like any "
        "login's tokens, except for what only the account's owner may do (403 "
        "`impersonation_forbidden`). 403 `impersonation_not_allowed` for a superuser or an "
        "inactive user. Needs a recent login or `POST /auth/reauthenticate` (403 "
        "`reauthentication_required`). Audited with the reason.",
    )
    async def start(
        body: ImpersonationStart,
        request: Request,
        response: Response,
        admin: Any = Depends(deps.reauthenticated_superuser),
    ) -> ImpersonationStarted:
        response.headers["Cache-Control"] = "no-store"
        return await service.start(
            admin, body.user_id, body.reason, client=kit.client_info(request)
        )

    @router.post(
        "/end",
        name="impersonation:end",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses(401, 403),
        summary="End the impersonation of this token",
        description="Ends the impersonation session the token belongs to (its refresh "
        "token too). 403 `not_impersonating` for any other token.",
    )
    async def end(request: Request, p: Any = Depends(deps.principal)) -> None:
        if p.actor_id is None:
            raise NotImpersonating()
        await service.end(
            p.claims.session_id, p.user.id, by=p.actor_id, client=kit.client_info(request)
        )

    return router

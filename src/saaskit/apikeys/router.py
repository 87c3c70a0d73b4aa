"""The API key routes: ``/api/v1/api-keys`` (personal) and ``.../orgs/{org_id}`` (organization).

Managing keys needs a login session, never a key nor an impersonation; creating one needs
a recent proof of the password (re-authentication), like every security-sensitive change.
Organization keys need the organization permission ``api_keys:manage``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from saaskit.apikeys.models import ApiKeyMixin
from saaskit.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead, ApiKeyRename
from saaskit.apikeys.service import ApiKeyService
from saaskit.errors import error_responses
from saaskit.features import FeatureHost
from saaskit.orgs.dependencies import OrgDependencies
from saaskit.orgs.service import OrgContext
from saaskit.routing import body_limits, new_router

__all__ = ["MANAGE", "build_api_keys_router"]

MANAGE = "api_keys:manage"
"""The organization permission to manage its keys."""

KeyId = Annotated[str, Path(pattern=r"^[0-9A-Za-z]{12}$", description="The key's public id.")]
OrgId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _read(row: ApiKeyMixin) -> dict[str, Any]:
    data = row.as_dict()
    for field in ("created_at", "expires_at", "last_used_at", "revoked_at"):
        data[field] = _utc(data[field])
    return data


def build_api_keys_router(
    kit: FeatureHost,
    service: ApiKeyService,
    reauthenticated_user: Any,
    session_user: Any,
    orgs: OrgDependencies | None,
) -> APIRouter:
    """The key routes (mounted at ``/api/v1/api-keys``).

    Args:
        kit: the kit.
        service: the API keys service.
        reauthenticated_user: the kit's re-authenticated user dependency (login session).
        session_user: the active user of a login session in person (no API key, no
            impersonation: ``kit.dependencies.current_owner_user``).
        orgs: the organization dependencies (``None``: no organization keys).
    """
    router = new_router(body_limits(kit.settings.http))

    def client(request: Request) -> Any:
        return kit.client_info(request)

    @router.post(
        "",
        name="api_keys:create",
        response_model=ApiKeyCreated,
        status_code=201,
        responses=error_responses(401, 403, 409, 422),
        summary="Create a personal API key",
        description="The key is in the answer's `key`, shown this once. Needs a login "
        "session with a recent password proof (403 `reauthentication_required`). 422 "
        "`api_key_scope_invalid` for a scope the app does not declare; 409 `api_key_limit` "
        "past the number of live keys allowed.",
    )
    async def create(
        body: ApiKeyCreate, request: Request, user: Any = Depends(reauthenticated_user)
    ) -> Any:
        row, key = await service.create(
            user.id, body.name, body.scopes, expires_at=body.expires_at, client=client(request)
        )
        return {**_read(row), "key": key}

    @router.get(
        "",
        name="api_keys:list",
        response_model=list[ApiKeyRead],
        responses=error_responses(401),
        summary="List my API keys",
        description="Live personal keys (never their secrets). `last_used_at` is written in "
        "batches: it may lag by `SAASKIT_API_KEYS__LAST_USED_FLUSH_SECONDS`.",
    )
    async def mine(user: Any = Depends(session_user)) -> Any:
        return [_read(row) for row in await service.list_keys(user_id=user.id)]

    @router.patch(
        "/{key_id}",
        name="api_keys:rename",
        response_model=ApiKeyRead,
        responses=error_responses(401, 404, 422),
        summary="Rename a personal API key",
    )
    async def rename(
        key_id: KeyId, body: ApiKeyRename, request: Request, user: Any = Depends(session_user)
    ) -> Any:
        row = await service.rename(
            key_id, body.name, user_id=user.id, actor_id=user.id, client=client(request)
        )
        return _read(row)

    @router.delete(
        "/{key_id}",
        name="api_keys:revoke",
        status_code=204,
        responses=error_responses(401, 404),
        summary="Revoke a personal API key",
        description="For good: the key is refused from the next request on, everywhere.",
    )
    async def revoke(
        key_id: KeyId, request: Request, user: Any = Depends(session_user)
    ) -> Response:
        await service.revoke(key_id, user_id=user.id, actor_id=user.id, client=client(request))
        return Response(status_code=204)

    if orgs is None:
        return router
    org_manage = orgs.require_org_permission(MANAGE, session_only=True)

    async def manage(
        _: Any = Depends(session_user), ctx: OrgContext = Depends(org_manage)
    ) -> OrgContext:
        # The key owner in person first: an impersonation token is refused (403) before
        # the membership is looked up.
        return ctx

    @router.post(
        "/orgs/{org_id}",
        name="api_keys:create_org",
        response_model=ApiKeyCreated,
        status_code=201,
        responses=error_responses(401, 403, 404, 409, 422),
        summary="Create an organization API key",
        description="Permission `api_keys:manage`. The key acts for the organization and "
        "keeps working when its creator leaves; its scopes (declared scopes or organization "
        "permissions) never exceed the creator's (422 `api_key_scope_invalid`). Needs a "
        "recent password proof.",
    )
    async def create_org(
        org_id: OrgId,
        body: ApiKeyCreate,
        request: Request,
        user: Any = Depends(reauthenticated_user),
        ctx: OrgContext = Depends(manage),
    ) -> Any:
        row, key = await service.create(
            user.id,
            body.name,
            body.scopes,
            expires_at=body.expires_at,
            org=ctx,
            client=client(request),
        )
        return {**_read(row), "key": key}

    @router.get(
        "/orgs/{org_id}",
        name="api_keys:list_org",
        response_model=list[ApiKeyRead],
        responses=error_responses(401, 403, 404),
        summary="List an organization's API keys",
        description="Permission `api_keys:manage`.",
    )
    async def org_keys(org_id: OrgId, ctx: OrgContext = Depends(manage)) -> Any:
        return [_read(row) for row in await service.list_keys(org_id=ctx.organization_id)]

    @router.patch(
        "/orgs/{org_id}/{key_id}",
        name="api_keys:rename_org",
        response_model=ApiKeyRead,
        responses=error_responses(401, 403, 404, 422),
        summary="Rename an organization API key",
        description="Permission `api_keys:manage`.",
    )
    async def rename_org(
        org_id: OrgId,
        key_id: KeyId,
        body: ApiKeyRename,
        request: Request,
        ctx: OrgContext = Depends(manage),
    ) -> Any:
        row = await service.rename(
            key_id,
            body.name,
            org_id=ctx.organization_id,
            actor_id=ctx.user_id,
            client=client(request),
        )
        return _read(row)

    @router.delete(
        "/orgs/{org_id}/{key_id}",
        name="api_keys:revoke_org",
        status_code=204,
        responses=error_responses(401, 403, 404),
        summary="Revoke an organization API key",
        description="Permission `api_keys:manage`. Refused from the next request on.",
    )
    async def revoke_org(
        org_id: OrgId, key_id: KeyId, request: Request, ctx: OrgContext = Depends(manage)
    ) -> Response:
        await service.revoke(
            key_id, org_id=ctx.organization_id, actor_id=ctx.user_id, client=client(request)
        )
        return Response(status_code=204)

    return router

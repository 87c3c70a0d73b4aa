"""The privacy routes: ``/api/v1/privacy`` (exports, deletion) and its superuser part.

Exports and deletion need a login session (never an API key: an export is everything the
kit holds about the person). Scheduling a deletion proves the password again in the
request body, through the kit's re-authentication (rate limited and audited like a
login): a stolen access token alone cannot delete an account.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.responses import StreamingResponse

from saaskit.errors import error_responses
from saaskit.features import FeatureHost
from saaskit.privacy.erasure import DeletionService
from saaskit.privacy.export import ExportService
from saaskit.privacy.models import AccountDeletionMixin, DataExportMixin
from saaskit.privacy.schemas import DeletionRead, DeletionRequest, ExportRead, RestoreRequest
from saaskit.ratelimit import RateLimiter
from saaskit.routing import body_limits, new_router
from saaskit.settings import RateLimit
from saaskit.types import ClientInfo

__all__ = ["PrivacyRouterKit", "build_privacy_router"]

ExportId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{43}$", description="The export's id (from its link).")
]
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
RESTORE_LIMIT = RateLimit(limit=10, window_seconds=3600)
"""Restore attempts per client IP (a token is 256 random bits; this keeps logs quiet)."""


class Reauthenticator(Protocol):
    """The kit's re-authentication (:meth:`saaskit.auth.service.AuthService.reauthenticate`)."""

    async def reauthenticate(self, session: Any, password: str, *, client: ClientInfo = ...) -> int:
        """Prove the password again in ``session`` (rate limited, audited)."""
        ...


class PrivacyRouterKit(FeatureHost, Protocol):
    """What the privacy routes need of the kit (:class:`saaskit.SaaSKit` has it)."""

    @property
    def auth(self) -> Reauthenticator:
        """The kit's :class:`~saaskit.auth.service.AuthService`."""
        ...

    @property
    def limiter(self) -> RateLimiter:
        """The kit's rate limiter."""
        ...

    @property
    def dependencies(self) -> Any:
        """The kit's :class:`~saaskit.auth.dependencies.AuthDependencies`."""
        ...


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def export_read(row: DataExportMixin) -> ExportRead:
    """The API's view of an export."""
    return ExportRead(
        id=row.public_id,
        status=row.status,
        created_at=_utc(row.created_at),
        finished_at=_utc(row.finished_at),
        expires_at=_utc(row.expires_at),
        size_bytes=row.size_bytes,
    )


def deletion_read(row: AccountDeletionMixin) -> DeletionRead:
    """The API's view of a deletion."""
    return DeletionRead(
        user_id=row.user_id,
        status=row.status,
        requested_at=_utc(row.requested_at),
        erase_after=_utc(row.erase_after),
        requested_by=row.requested_by,
        finished_at=_utc(row.finished_at),
        steps=list(row.steps or []),
        last_error=row.last_error,
    )


def build_privacy_router(
    kit: PrivacyRouterKit, exports: ExportService, deletions: DeletionService
) -> APIRouter:
    """The privacy routes (mounted at ``/api/v1/privacy``).

    Args:
        kit: the kit.
        exports: the export service.
        deletions: the deletion service.
    """
    router = new_router(body_limits(kit.settings.http, small=True))
    deps = kit.dependencies
    # The account's owner in person (no API key, no impersonation): a superuser acting as
    # the user can neither take their data out nor schedule their deletion.
    session_user = deps.current_owner_user
    session_principal = deps.owner_principal
    superuser = deps.session_superuser

    @router.post(
        "/exports",
        name="privacy:request_export",
        response_model=ExportRead,
        status_code=status.HTTP_202_ACCEPTED,
        responses=error_responses(401, 429),
        summary="Request an export of my data",
        description="Builds a zip of JSON files in the background and emails a link when it "
        "is ready. One per `SAASKIT_PRIVACY__EXPORT_INTERVAL_HOURS` (429 `rate_limited` "
        "with `Retry-After`).",
    )
    async def request_export(request: Request, user: Any = Depends(session_user)) -> ExportRead:
        row = await exports.request(user.id, client=kit.client_info(request))
        return export_read(row)

    @router.get(
        "/exports",
        name="privacy:list_exports",
        response_model=list[ExportRead],
        status_code=status.HTTP_200_OK,
        responses=error_responses(401),
        summary="My data exports",
    )
    async def list_exports(user: Any = Depends(session_user)) -> list[ExportRead]:
        return [export_read(exports._current(row)) for row in await exports.mine(user.id)]

    @router.get(
        "/exports/{export_id}",
        name="privacy:get_export",
        response_model=ExportRead,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 404),
        summary="A data export's status",
    )
    async def get_export(export_id: ExportId, user: Any = Depends(session_user)) -> ExportRead:
        return export_read(await exports.get(user.id, export_id))

    @router.get(
        "/exports/{export_id}/download",
        name="privacy:download_export",
        response_class=StreamingResponse,
        status_code=status.HTTP_200_OK,
        responses={
            200: {"content": {"application/zip": {}}, "description": "The archive."},
            **error_responses(401, 404, 409, 410),
        },
        summary="Download a data export",
        description="Only by its owner, signed in, until it expires (410 "
        "`privacy_export_expired`); 409 `privacy_export_not_ready` while it is built.",
    )
    async def download_export(
        export_id: ExportId, request: Request, user: Any = Depends(session_user)
    ) -> StreamingResponse:
        row, chunks = await exports.download(user.id, export_id, client=kit.client_info(request))
        day = _utc(row.created_at).date().isoformat()  # type: ignore[union-attr]
        return StreamingResponse(
            chunks,
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="data-export-{day}.zip"',
                "Cache-Control": "no-store",
            },
        )

    @router.post(
        "/deletion",
        name="privacy:delete_account",
        response_model=DeletionRead,
        status_code=status.HTTP_202_ACCEPTED,
        responses=error_responses(401, 422, 429),
        summary="Delete my account (after a grace period)",
        description="Needs the current password (401 `invalid_credentials` otherwise). The "
        "account is deactivated at once (sessions end, API keys are revoked) and erased "
        "after `SAASKIT_PRIVACY__DELETION_GRACE_DAYS`; a restore link is emailed.",
    )
    async def delete_account(
        body: DeletionRequest, request: Request, principal: Any = Depends(session_principal)
    ) -> DeletionRead:
        client = kit.client_info(request)
        await kit.auth.reauthenticate(principal.session, body.password, client=client)
        row = await deletions.schedule(principal.user.id, actor_id=principal.user.id, client=client)
        return deletion_read(row)

    @router.post(
        "/deletion/restore",
        name="privacy:restore_account",
        response_model=DeletionRead,
        status_code=status.HTTP_200_OK,
        responses=error_responses(400, 410, 422, 429),
        summary="Restore my account with the emailed link",
        description="400 `privacy_restore_invalid` for an unknown or used token; 410 "
        "`privacy_account_erased` once the grace period is over. Sign in again afterwards.",
    )
    async def restore_account(body: RestoreRequest, request: Request) -> DeletionRead:
        client = kit.client_info(request)
        await kit.limiter.hit_limit("privacy_restore_ip", RESTORE_LIMIT, client.ip)
        return deletion_read(await deletions.restore_with_token(body.token, client=client))

    @router.get(
        "/admin/deletions",
        name="privacy:list_deletions",
        response_model=list[DeletionRead],
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 403),
        summary="Account deletions (superusers)",
    )
    async def list_deletions(
        state: Literal["scheduled", "erasing", "erased", "restored"] | None = Query(
            "scheduled", alias="status"
        ),
        limit: int = Query(50, ge=1, le=200),
        offset: int = Query(0, ge=0, le=2**31 - 1),
        _: Any = Depends(superuser),
    ) -> list[DeletionRead]:
        rows = await deletions.page(status=state, limit=limit, offset=offset)
        return [deletion_read(row) for row in rows]

    @router.post(
        "/admin/users/{user_id}/deletion",
        name="privacy:admin_delete_user",
        response_model=DeletionRead,
        status_code=status.HTTP_202_ACCEPTED,
        responses=error_responses(401, 403, 404),
        summary="Schedule a user's deletion (superusers)",
        description="Like `POST /privacy/deletion`, except that an account already deactivated "
        "(a ban) gets no restore link, and a restore keeps it deactivated.",
    )
    async def admin_delete(
        user_id: UserId, request: Request, admin: Any = Depends(superuser)
    ) -> DeletionRead:
        row = await deletions.schedule(user_id, actor_id=admin.id, client=kit.client_info(request))
        return deletion_read(row)

    @router.post(
        "/admin/users/{user_id}/restore",
        name="privacy:admin_restore_user",
        response_model=DeletionRead,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, 403, 404, 410),
        summary="Restore a user's scheduled deletion (superusers)",
        description="Puts back the account's state before the deletion: one that was "
        "deactivated stays deactivated (re-activate it with `PATCH /users/{id}`).",
    )
    async def admin_restore(
        user_id: UserId, request: Request, admin: Any = Depends(superuser)
    ) -> DeletionRead:
        row = await deletions.restore(user_id, actor_id=admin.id, client=kit.client_info(request))
        return deletion_read(row)

    return router

"""The 2FA routes: the user's own, the login's second step, policy and admin.

``/api/v1/mfa`` (the user's own factor and the login's second step), the
organizations' policy (``/api/v1/orgs/{org_id}/mfa-policy``) and the superusers'
``/api/v1/admin/users/{user_id}/mfa``.

Managing one's factor needs a login session, never an API key. Requesting a secret
needs a recent proof of the password (re-authentication), so a stolen access token
cannot enroll the thief's authenticator; disabling and regenerating recovery codes need
the current password *and* a code.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from saaskit.auth.credentials import Principal
from saaskit.auth.schemas import TokenPair
from saaskit.errors import error_responses
from saaskit.features import FeatureHost
from saaskit.mfa.errors import MfaNotEnabled
from saaskit.mfa.schemas import (
    MfaAdminStatus,
    MfaStatus,
    MfaVerify,
    OrgMfaPolicy,
    ReauthenticatedProof,
    RecoveryCodeSet,
    TotpConfirm,
    TotpSetup,
)
from saaskit.mfa.service import MfaService
from saaskit.orgs.dependencies import OrgDependencies
from saaskit.orgs.service import OrgContext
from saaskit.routing import body_limits, new_router

__all__ = ["POLICY_PERMISSION", "build_admin_router", "build_mfa_router", "build_org_router"]

POLICY_PERMISSION = "org:update"
"""The organization permission to require 2FA of the members (owners and admins)."""

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
OrgId = Annotated[int, Path(ge=1, le=2**31 - 1)]
NO_STORE = {"Cache-Control": "no-store"}


def build_mfa_router(
    kit: FeatureHost,
    service: MfaService[Any],
    *,
    auth: Any,
    session_principal: Any,
    reauthenticated_user: Any,
) -> APIRouter:
    """The user's own routes and the login's second step (mounted at ``/api/v1/mfa``).

    Args:
        kit: the kit.
        service: the 2FA service.
        auth: the kit's auth service (``reauthenticate``).
        session_principal: the active user's principal of a login session.
        reauthenticated_user: the user of a login session with a recent password proof.
    """
    router = new_router(body_limits(kit.settings.http, small=True))

    @router.get(
        "",
        name="mfa:status",
        response_model=MfaStatus,
        status_code=200,
        responses=error_responses(401),
        summary="Whether two-factor authentication is on",
    )
    async def status(p: Principal[Any] = Depends(session_principal)) -> Any:
        state = await service.state(p.user.id)
        return MfaStatus(
            enabled=state.enabled,
            confirmed_at=state.confirmed_at,
            recovery_codes_remaining=state.recovery_codes_remaining,
        )

    @router.post(
        "/totp/setup",
        name="mfa:totp_setup",
        response_model=TotpSetup,
        status_code=200,
        responses=error_responses(401, 403, 409),
        summary="Request a TOTP secret (2FA is on only once confirmed)",
        description="Answers the secret, its `otpauth://` URI and (with the `qrcode` extra) "
        "an SVG QR code. Needs a recent password proof (403 `reauthentication_required`); "
        "409 `mfa_already_enabled` when 2FA is on. Requesting again replaces a pending secret.",
    )
    async def setup(
        request: Request, response: Response, user: Any = Depends(reauthenticated_user)
    ) -> Any:
        enrollment = await service.begin_enrollment(
            user.id, user.email, client=kit.client_info(request)
        )
        response.headers.update(NO_STORE)
        return TotpSetup(
            secret=enrollment.secret,
            otpauth_uri=enrollment.otpauth_uri,
            qr_svg=enrollment.qr_svg,
            expires_at=enrollment.expires_at.astimezone(UTC),
        )

    @router.post(
        "/totp/confirm",
        name="mfa:totp_confirm",
        response_model=RecoveryCodeSet,
        status_code=200,
        responses=error_responses(401, 409, 422, 429),
        summary="Turn 2FA on with the first code; answers the recovery codes (shown once)",
    )
    async def confirm(
        body: TotpConfirm,
        request: Request,
        response: Response,
        p: Principal[Any] = Depends(session_principal),
    ) -> Any:
        codes = await service.confirm_enrollment(
            p.user.id, body.code, client=kit.client_info(request)
        )
        response.headers.update(NO_STORE)
        return RecoveryCodeSet(recovery_codes=codes)

    @router.post(
        "/verify",
        name="mfa:verify",
        response_model=TokenPair,
        status_code=200,
        responses=error_responses(401, 422, 429, 503),
        summary="The second step of a login: the challenge and a code give the tokens",
        description="`challenge_token` comes from a login's 403 `mfa_required` (`mfa_token` "
        "at the OAuth 2.0 token endpoint). Send `code` (authenticator app) or "
        "`recovery_code`. 401 `mfa_code_invalid` for a wrong or reused code (the challenge "
        "stays usable for a few tries); 401 `mfa_challenge_invalid` when it is unknown, "
        "expired, spent or burned by wrong codes: log in again.",
    )
    async def verify(body: MfaVerify, request: Request, response: Response) -> TokenPair:
        _, tokens = await service.complete_second_factor(
            body.challenge_token, body, client=kit.client_info(request)
        )
        response.headers.update(NO_STORE)
        return tokens

    @router.post(
        "/disable",
        name="mfa:disable",
        status_code=204,
        response_class=Response,
        responses=error_responses(401, 409, 422, 429),
        summary="Turn 2FA off (current password and a code)",
    )
    async def disable(
        body: ReauthenticatedProof,
        request: Request,
        p: Principal[Any] = Depends(session_principal),
    ) -> Response:
        client = kit.client_info(request)
        await auth.reauthenticate(p.session, body.password, client=client)
        await service.disable(p.user.id, body, client=client)
        return Response(status_code=204)

    @router.post(
        "/recovery-codes",
        name="mfa:regenerate_recovery_codes",
        response_model=RecoveryCodeSet,
        status_code=200,
        responses=error_responses(401, 409, 422, 429),
        summary="Replace the recovery codes (current password and a code)",
    )
    async def regenerate(
        body: ReauthenticatedProof,
        request: Request,
        response: Response,
        p: Principal[Any] = Depends(session_principal),
    ) -> Any:
        client = kit.client_info(request)
        await auth.reauthenticate(p.session, body.password, client=client)
        codes = await service.regenerate_codes(p.user.id, body, client=client)
        response.headers.update(NO_STORE)
        return RecoveryCodeSet(recovery_codes=codes)

    return router


def build_org_router(
    kit: FeatureHost,
    service: MfaService[Any],
    orgs: OrgDependencies,
    owner_principal: Any = None,
) -> APIRouter:
    """``GET``/``PUT /{org_id}/mfa-policy`` (mounted at ``/api/v1/orgs``).

    ``owner_principal`` (the kit's: a login session in person) makes the change refuse an
    impersonation token: a superuser acting as an organization's admin cannot turn its 2FA
    requirement off.
    """
    router = new_router()
    manage = orgs.require_org_permission(POLICY_PERMISSION, session_only=True)

    @router.get(
        "/{org_id}/mfa-policy",
        name="mfa:org_policy",
        response_model=OrgMfaPolicy,
        status_code=200,
        responses=error_responses(401, 403, 404),
        summary="Whether the organization requires 2FA of its members",
    )
    async def policy(org_id: OrgId, ctx: OrgContext = Depends(orgs.current_org)) -> Any:
        return OrgMfaPolicy(required=await orgs.service.mfa_required(ctx.organization_id))

    in_person = [Depends(owner_principal)] if owner_principal is not None else []

    @router.put(
        "/{org_id}/mfa-policy",
        name="mfa:set_org_policy",
        response_model=OrgMfaPolicy,
        status_code=200,
        responses=error_responses(401, 403, 404, 409, 422),
        summary="Require (or stop requiring) 2FA of the members",
        description="Needs the organization permission `org:update` (owners, admins) and a "
        "login session in person (403 `impersonation_forbidden` for a superuser acting as "
        "the user). Turning it on needs 2FA on the caller's own account (409 "
        "`mfa_not_enabled`), so nobody locks themselves out. Members without 2FA then get "
        "403 `org_mfa_required` on the organization's routes.",
        dependencies=in_person,
    )
    async def set_policy(
        org_id: OrgId, body: OrgMfaPolicy, request: Request, ctx: OrgContext = Depends(manage)
    ) -> Any:
        if body.required and not (await service.state(ctx.user_id)).enabled:
            raise MfaNotEnabled(
                "Turn on two-factor authentication for your own account before requiring it."
            )
        await orgs.service.set_mfa_required(ctx, body.required, client=kit.client_info(request))
        return body

    return router


def build_admin_router(service: MfaService[Any], superuser: Any, kit: FeatureHost) -> APIRouter:
    """``GET``/``DELETE /{user_id}/mfa`` (mounted at ``/api/v1/admin/users``)."""
    router = new_router()

    @router.get(
        "/{user_id}/mfa",
        name="mfa:admin_status",
        response_model=MfaAdminStatus,
        status_code=200,
        responses=error_responses(401, 403),
        summary="Whether a user has 2FA on (superusers)",
    )
    async def admin_status(user_id: UserId, admin: Any = Depends(superuser)) -> Any:
        state = await service.state(user_id)
        return MfaAdminStatus(
            user_id=user_id,
            enabled=state.enabled,
            confirmed_at=state.confirmed_at,
            recovery_codes_remaining=state.recovery_codes_remaining,
        )

    @router.delete(
        "/{user_id}/mfa",
        name="mfa:admin_reset",
        status_code=204,
        response_class=Response,
        responses=error_responses(401, 403),
        summary="Turn a user's 2FA off (superusers; audited as `mfa_reset`)",
        description="For a user who lost both the authenticator and the recovery codes. "
        "Check who is asking out of band first: this removes the account's second factor.",
    )
    async def admin_reset(
        user_id: UserId, request: Request, admin: Any = Depends(superuser)
    ) -> Response:
        await service.reset(user_id, actor_id=admin.id, client=kit.client_info(request))
        return Response(status_code=204)

    return router

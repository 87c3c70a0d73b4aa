"""The passkey routes: ``/api/v1/passkeys``.

Registering and removing a passkey need a login session (never an API key) with a recent
proof of the password (403 ``reauthentication_required``): adding a factor is what an
attacker holding a stolen access token would do to keep the account. Listing needs a
login session. Logging in needs nothing but the passkey.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from saaskit.auth.schemas import TokenPair
from saaskit.errors import error_responses
from saaskit.features import FeatureHost
from saaskit.passkeys.models import PasskeyMixin
from saaskit.passkeys.schemas import (
    PasskeyLoginVerify,
    PasskeyOptions,
    PasskeyRead,
    PasskeyRegisterVerify,
    PasskeySecondFactorStart,
    PasskeySecondFactorVerify,
)
from saaskit.passkeys.service import PasskeyService
from saaskit.routing import body_limits, new_router

__all__ = ["build_passkeys_router"]

PasskeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="The passkey's id.")]


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _read(row: PasskeyMixin) -> dict[str, Any]:
    data = row.as_dict()
    for field in ("created_at", "last_used_at"):
        data[field] = _utc(data[field])
    return data


def build_passkeys_router(
    kit: FeatureHost,
    service: PasskeyService,
    reauthenticated_user: Any,
    session_user: Any,
    mfa: Any = None,
) -> APIRouter:
    """The passkey routes (mounted at ``/api/v1/passkeys``).

    Args:
        kit: the kit.
        service: the passkeys service.
        reauthenticated_user: the kit's re-authenticated user dependency (login session).
        session_user: the active user of a login session.
        mfa: the 2FA service (``kit.mfa``), when 2FA is on: a passkey then completes a
            login's second step.
    """
    router = new_router(body_limits(kit.settings.http))

    def client(request: Request) -> Any:
        return kit.client_info(request)

    @router.post(
        "/register/options",
        name="passkeys:register_options",
        response_model=PasskeyOptions,
        responses=error_responses(401, 403, 409),
        summary="Start registering a passkey",
        description="Options for `navigator.credentials.create()` and the `challenge_id` "
        "to answer with (single use, bound to you, valid `challenge_seconds`). Needs a "
        "login session with a recent password proof (403 `reauthentication_required`).",
    )
    async def register_options(user: Any = Depends(reauthenticated_user)) -> Any:
        return await service.registration_options(user)

    @router.post(
        "/register/verify",
        name="passkeys:register_verify",
        response_model=PasskeyRead,
        status_code=201,
        responses=error_responses(400, 401, 403, 409, 422),
        summary="Finish registering a passkey",
        description="400 `passkey_challenge_invalid` for an unknown, expired, used or "
        "another user's challenge; 400 `passkey_registration_invalid` for an answer that "
        "does not verify (origin, RP id, user verification) or a credential already "
        "registered; 409 `passkey_limit`.",
    )
    async def register_verify(
        body: PasskeyRegisterVerify, request: Request, user: Any = Depends(reauthenticated_user)
    ) -> Any:
        row = await service.register(
            user, body.challenge_id, body.credential, body.name, client=client(request)
        )
        return _read(row)

    @router.get(
        "",
        name="passkeys:list",
        response_model=list[PasskeyRead],
        responses=error_responses(401, 403),
        summary="Your passkeys",
    )
    async def list_passkeys(user: Any = Depends(session_user)) -> Any:
        return [_read(row) for row in await service.list(user.id)]

    @router.delete(
        "/{passkey_id}",
        name="passkeys:remove",
        status_code=204,
        response_class=Response,
        responses=error_responses(401, 403, 404),
        summary="Remove a passkey",
        description="Needs a recent password proof (403 `reauthentication_required`); "
        "404 `passkey_not_found` for a passkey that is not yours.",
    )
    async def remove(
        passkey_id: PasskeyId, request: Request, user: Any = Depends(reauthenticated_user)
    ) -> None:
        await service.remove(user.id, passkey_id, client=client(request))

    @router.post(
        "/login/options",
        name="passkeys:login_options",
        response_model=PasskeyOptions,
        responses=error_responses(429),
        summary="Start logging in with a passkey",
        description="Options for `navigator.credentials.get()` (no allow list: the "
        "authenticator offers its discoverable credentials) and the `challenge_id`.",
    )
    async def login_options(request: Request) -> Any:
        return await service.login_options(client=client(request))

    @router.post(
        "/login/verify",
        name="passkeys:login_verify",
        response_model=TokenPair,
        responses=error_responses(400, 401, 403, 422, 429),
        summary="Log in with a passkey",
        description="The same token pair and session as a password login. 400 "
        "`passkey_challenge_invalid`; 401 `passkey_login_failed` for every other refusal "
        "(one answer: unknown or removed passkey, signature, origin, counter); 429 past "
        "`login_per_ip`.",
    )
    async def login_verify(body: PasskeyLoginVerify, request: Request, response: Response) -> Any:
        response.headers["Cache-Control"] = "no-store"
        return await service.login(body.challenge_id, body.credential, client=client(request))

    if mfa is not None:
        from saaskit.mfa.errors import MfaChallengeInvalid

        @router.post(
            "/second-factor/options",
            name="passkeys:second_factor_options",
            response_model=PasskeyOptions,
            responses=error_responses(401, 404, 422, 429),
            summary="Start a login's second step with a passkey",
            description="For a login that answered 403 `mfa_required`: options for "
            "`navigator.credentials.get()` listing the account's passkeys, and the "
            "`challenge_id` (bound to that account). 401 `mfa_challenge_invalid`; 404 "
            "`passkey_not_found` when the account has no passkey.",
        )
        async def second_factor_options(body: PasskeySecondFactorStart, request: Request) -> Any:
            challenge = await mfa.challenges.read(body.challenge_token)
            if challenge is None:
                raise MfaChallengeInvalid()
            return await service.second_factor_options(challenge.user_id, client=client(request))

        @router.post(
            "/second-factor/verify",
            name="passkeys:second_factor_verify",
            response_model=TokenPair,
            responses=error_responses(400, 401, 403, 422, 429),
            summary="Finish a login's second step with a passkey",
            description="The token pair of the login, as `POST /mfa/verify` gives for a "
            "code (audited as `password+passkey`). 401 `mfa_challenge_invalid` or "
            "`passkey_login_failed` (another account's passkey, a bad signature, origin, "
            "counter); 400 `passkey_challenge_invalid`; 429 past the 2FA limits.",
        )
        async def second_factor_verify(
            body: PasskeySecondFactorVerify, request: Request, response: Response
        ) -> Any:
            response.headers["Cache-Control"] = "no-store"
            check = service.second_factor_check(
                body.challenge_id, body.credential, client=client(request)
            )
            _, tokens = await mfa.redeem(body.challenge_token, check, client=client(request))
            return tokens

    return router

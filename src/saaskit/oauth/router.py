"""The OAuth login routes: ``/api/v1/oauth``.

``GET /{provider}/authorize`` and ``GET /{provider}/callback`` are browser navigations
(redirects, a cookie); the others are API calls. Tokens never travel in a URL: the
callback redirects with a single-use handoff code that ``POST /token`` exchanges.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from saaskit.auth.schemas import TokenPair
from saaskit.errors import error_responses
from saaskit.exceptions import EmailNotVerified
from saaskit.features import FeatureHost
from saaskit.oauth.flow import new_secret
from saaskit.oauth.schemas import (
    HandoffExchange,
    LinkStart,
    LinkStarted,
    OAuthAccountRead,
    OAuthProviderRead,
)
from saaskit.oauth.service import OAuthService
from saaskit.routing import body_limits, new_router

UNVERIFIED_LINK = (
    "Verify your email address before adding a way to sign in: an unverified account "
    "may not be yours yet."
)

__all__ = ["build_oauth_router"]

ProviderKey = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The provider's key in the settings.")
]
_COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_-]{43}$")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def build_oauth_router(
    kit: FeatureHost,
    service: OAuthService,
    reauthenticated_user: Any,
    session_user: Any,
    reauthenticated_principal: Any,
) -> APIRouter:
    """The OAuth login routes (mounted at ``/api/v1/oauth``).

    Args:
        kit: the kit.
        service: the OAuth service.
        reauthenticated_user: a login session's user with a recent proof (unlink).
        session_user: a login session's active user.
        reauthenticated_principal: the same as a principal, with its session (link).
    """
    router = new_router(body_limits(kit.settings.http, small=True))
    settings = service.settings
    cookie_path = f"{kit.settings.api_prefix}/oauth"

    def client(request: Request) -> Any:
        return kit.client_info(request)

    def browser_of(request: Request) -> tuple[str, bool]:
        """The browser-binding value: the cookie's, or a new one (True: set it)."""
        value = request.cookies.get(settings.cookie_name)
        if value and _COOKIE_VALUE.match(value):
            return value, False
        return new_secret(), True

    def bind(response: Response, value: str) -> None:
        response.set_cookie(
            settings.cookie_name,
            value,
            max_age=settings.state_ttl_seconds,
            path=cookie_path,
            secure=service.secure_cookie,
            httponly=True,
            samesite="lax",  # sent on the provider's top-level redirect back, not on POSTs
        )

    @router.get(
        "/providers",
        name="oauth:providers",
        response_model=list[OAuthProviderRead],
        summary="List the login providers",
    )
    async def providers() -> Any:
        return [
            OAuthProviderRead(key=p.key, display_name=p.display_name, kind=p.kind)
            for p in service.providers.values()
        ]

    @router.get(
        "/{provider}/authorize",
        name="oauth:authorize",
        status_code=302,
        response_class=RedirectResponse,
        responses=error_responses(404, 422, 429, 400),
        summary="Sign up or log in with a provider (browser navigation)",
        description="Redirects to the provider, with PKCE (S256), `state` and (OpenID "
        "Connect) `nonce` kept server-side, and a cookie binding the flow to this browser. "
        "`redirect_to` (absolute, on an allowed origin: 422 `oauth_redirect_not_allowed`) is "
        "where the browser lands afterwards, with `?code=` (the handoff code for "
        "`POST /oauth/token`) or `?error=`.",
    )
    async def authorize(
        provider: ProviderKey,
        request: Request,
        redirect_to: Annotated[str | None, Query(max_length=2000)] = None,
    ) -> Response:
        value, new = browser_of(request)
        url = await service.start(
            provider, browser=value, redirect_to=redirect_to, client=client(request)
        )
        response = RedirectResponse(url, status_code=302, headers=NO_STORE)
        if new:
            bind(response, value)
        return response

    @router.post(
        "/{provider}/link",
        name="oauth:link",
        response_model=LinkStarted,
        status_code=200,
        responses=error_responses(401, 403, 404, 422, 429),
        summary="Start linking a provider to my account",
        description="Needs a login session with a recent proof of the account (403 "
        "`reauthentication_required`) and a verified email (403 `email_not_verified`). "
        "Answers the provider URL to send this browser to (a "
        "cookie binds the flow to it); the browser lands on `redirect_to` with `?linked=` or "
        "`?error=` (`oauth_email_unverified`, `oauth_already_linked`).",
    )
    async def link(
        provider: ProviderKey,
        body: LinkStart,
        request: Request,
        response: Response,
        principal: Any = Depends(reauthenticated_principal),
    ) -> Any:
        if not principal.user.is_verified:
            # An unverified account may be a squatter's: a provider linked now would
            # survive the real owner's password reset (pre-account takeover).
            raise EmailNotVerified(UNVERIFIED_LINK)
        value, new = browser_of(request)
        url = await service.start(
            provider,
            browser=value,
            redirect_to=body.redirect_to,
            mode="link",
            user_id=principal.user.id,
            session_id=principal.credential_id,
            client=client(request),
        )
        if new:
            bind(response, value)
        response.headers.update(NO_STORE)
        return LinkStarted(authorization_url=url)

    @router.get(
        "/{provider}/callback",
        name="oauth:callback",
        status_code=302,
        response_class=RedirectResponse,
        responses=error_responses(400, 404, 429),
        summary="The provider's redirect back (browser navigation)",
        description="400 `oauth_state_invalid` for an unknown, expired or used `state`, or "
        "one started by another browser. Otherwise redirects to the flow's page with "
        "`?code=` (login), `?linked=` (link) or `?error=<code>`: `oauth_provider_error`, "
        "`oauth_email_unverified`, `oauth_account_exists`, `oauth_already_linked`, ...",
    )
    async def callback(
        provider: ProviderKey,
        request: Request,
        state: Annotated[str | None, Query(max_length=200)] = None,
        code: Annotated[str | None, Query(max_length=2000)] = None,
        error: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Response:
        url = await service.callback(
            provider,
            state=state,
            code=code,
            error=error,
            browser=request.cookies.get(settings.cookie_name),
            client=client(request),
        )
        # The landing page's URL holds the handoff code: no Referer from it either.
        headers = {**NO_STORE, "Referrer-Policy": "no-referrer"}
        return RedirectResponse(url, status_code=302, headers=headers)

    @router.post(
        "/token",
        name="oauth:token",
        response_model=TokenPair,
        status_code=200,
        responses=error_responses(400, 401, 403, 429),
        summary="Exchange the handoff code for tokens",
        description="Once: 400 `oauth_handoff_invalid` for an unknown, expired or used code. "
        "The session is a login like a password login's.",
    )
    async def token(body: HandoffExchange, request: Request, response: Response) -> Any:
        response.headers.update(NO_STORE)
        return await service.exchange(body.code, client=client(request))

    @router.get(
        "/accounts",
        name="oauth:accounts",
        response_model=list[OAuthAccountRead],
        responses=error_responses(401),
        summary="List my linked provider accounts",
    )
    async def accounts(user: Any = Depends(session_user)) -> Any:
        return [
            OAuthAccountRead(
                provider=row.provider,
                email=row.email,
                created_at=_iso(row.created_at) or "",
                last_login_at=_iso(row.last_login_at),
            )
            for row in await service.accounts(user.id)
        ]

    @router.delete(
        "/accounts/{provider}",
        name="oauth:unlink",
        status_code=204,
        responses=error_responses(401, 403, 404, 409),
        summary="Unlink a provider from my account",
        description="Needs a recent proof of the account. 409 `oauth_last_login_method` when "
        "it is the only way left to log in (no password, no other provider).",
    )
    async def unlink(
        provider: ProviderKey, request: Request, user: Any = Depends(reauthenticated_user)
    ) -> Response:
        await service.unlink(user.id, provider, client=client(request))
        return Response(status_code=204)

    return router

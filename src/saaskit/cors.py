"""CORS that grants credentials only to the origins listed exactly, never through ``*``.

Starlette's ``CORSMiddleware`` given ``*`` together with ``allow_credentials`` echoes
whatever ``Origin`` a request carries (``null`` included: sandboxed iframes and ``file://``
pages of any site send it) and adds ``Access-Control-Allow-Credentials: true``, which lets
every site read credentialed answers. Here each request is answered by one of two
Starlette middlewares, chosen by its ``Origin``: an origin listed exactly gets the
configured credentials; any other gets no credentials, and ``*`` (never its own origin
echoed) when ``*`` is listed, else no CORS headers at all.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from saaskit.settings import CorsSettings

logger = logging.getLogger("saaskit")

WILDCARD = "*"


class ExactCredentialsCORSMiddleware:
    """Answers CORS for ``origins``; only those listed exactly may get credentials.

    Args:
        app: the ASGI app to wrap.
        origins: exact origins (``scheme://host[:port]``) and/or ``*``.
        allow_credentials: whether the exact origins get
            ``Access-Control-Allow-Credentials: true``.

    Example:
        ```python
        app.add_middleware(
            ExactCredentialsCORSMiddleware,
            origins=["*", "https://app.example.com"],
            allow_credentials=True,
        )
        ```
    """

    def __init__(self, app: ASGIApp, *, origins: list[str], allow_credentials: bool) -> None:
        exact = [origin for origin in origins if origin != WILDCARD]
        self.exact = frozenset(exact)
        # Every method and header: the Authorization header must pass the preflight.
        self.listed = CORSMiddleware(
            app,
            allow_origins=exact,
            allow_credentials=allow_credentials,
            allow_methods=["*"],
            allow_headers=["*"],
        )
        self.others = CORSMiddleware(
            app,
            allow_origins=[WILDCARD] if WILDCARD in origins else exact,
            allow_credentials=False,
            allow_methods=["*"],
            allow_headers=["*"],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The same header Starlette reads (the first Origin), so both agree on it.
        """Apply CORS, sending credentials to exactly listed origins only."""
        origin = Headers(scope=scope).get("origin") if scope["type"] == "http" else None
        middleware = self.listed if origin in self.exact else self.others
        await middleware(scope, receive, send)


def install_cors(app: FastAPI, settings: CorsSettings) -> None:
    """Add CORS to ``app`` when ``settings.origins`` lists any; explain ``*`` once.

    With ``*`` and credentials on, the origins not listed exactly get no credentials:
    that is logged once, as a WARNING, when the middleware is added (production refuses
    this combination outright, see ``SaaSKitSettings.problems``).
    """
    if not settings.origins:
        return
    if WILDCARD in settings.origins and settings.allow_credentials:
        logger.warning(
            "SAASKIT_CORS__ORIGINS lists '*': any origin may call the API, but without "
            "credentials (cookies), which only the origins listed exactly get. saaskit's "
            "bearer tokens need none; set SAASKIT_CORS__ALLOW_CREDENTIALS=false to silence this."
        )
    app.add_middleware(
        ExactCredentialsCORSMiddleware,
        origins=list(settings.origins),
        allow_credentials=settings.allow_credentials,
    )

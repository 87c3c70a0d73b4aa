"""Records every write made with an impersonation token, whatever route it reaches."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saaskit.middleware import PRINCIPAL_SCOPE_KEY
from saaskit.types import ClientInfo

__all__ = ["ImpersonationAuditMiddleware"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ImpersonationAuditMiddleware:
    """After a non-GET request authenticated by an impersonation token, audit it.

    One ``impersonation_request`` event per write: the user as actor and target, the
    superuser as ``impersonator_id``, the method, the path (never the query string: it may
    carry a token) and the status (``outcome`` failure for 4xx/5xx, refused ones
    included). The services' own events of the same request carry the superuser too
    (through :class:`~saaskit.types.ClientInfo`), so the trail is complete even on the
    host's routes that audit nothing themselves. Costs nothing on other requests.
    """

    def __init__(self, app: ASGIApp, *, audit: Any, client_info: Any) -> None:
        self.app = app
        self.audit = audit
        self.client_info = client_info

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; audit it afterwards if an impersonation token wrote."""
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            principal = scope.get(PRINCIPAL_SCOPE_KEY)
            actor = getattr(principal, "actor_id", None)
            if principal is not None and actor is not None:
                client: ClientInfo = self.client_info(HTTPConnection(scope))
                user_id = principal.user.id
                await self.audit.record(
                    "impersonation_request",
                    outcome="success" if status < 400 else "failure",
                    actor_id=user_id,
                    target_id=user_id,
                    client=client,
                    impersonator_id=actor,
                    detail={"method": scope["method"], "path": scope["path"], "status": status},
                )

"""The console's CSRF defences (SQLAdmin has none of its own).

Three layers, each enough against a cross-site form on its own:

- The session cookie is ``SameSite=Strict`` (and ``Secure`` in production), scoped to the
  console's path: a request started by another site carries no session at all.
- :class:`OriginCheckMiddleware` refuses every unsafe request (not GET/HEAD/OPTIONS)
  whose ``Origin`` (or, without one, ``Referer``) is not the console's own origin or one
  the host allows; a request with neither is refused too. This covers SQLAdmin's own
  forms and its ``DELETE`` calls, which carry no token.
- Every form of the kit's own actions (deactivate, verify, impersonate, replay...) carries
  a token bound to the session (:func:`csrf_token`, :func:`check_csrf`), compared in
  constant time.

SQLAdmin's ``@action`` routes are GET requests; the console defines none (its changes are
POST forms), and its model views are read-only.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["CSRF_FIELD", "OriginCheckMiddleware", "check_csrf", "csrf_token"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
_SESSION_KEY = "csrf"


_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def _normal(scheme: str, host: str) -> str:
    """``scheme://host`` in lower case, without the scheme's default port."""
    scheme, host = scheme.lower(), host.lower()
    default = _DEFAULT_PORTS.get(scheme, "")
    if default and host.endswith(default):
        host = host.removesuffix(default)
    return f"{scheme}://{host}"


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return _normal(parts.scheme, parts.netloc)


class OriginCheckMiddleware:
    """Refuse cross-origin unsafe requests to the console (403, plain text)."""

    def __init__(self, app: ASGIApp, *, allowed_origins: Collection[str] = ()) -> None:
        self.app = app
        self.allowed = frozenset(
            _origin_of(origin.rstrip("/")) or origin for origin in allowed_origins
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass safe and same-origin requests; answer 403 to the others."""
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        claimed = headers.get("origin")
        source = _origin_of(claimed) if claimed and claimed != "null" else None
        if claimed is None and headers.get("referer"):
            source = _origin_of(headers["referer"])
        if source is None or source not in self.allowed | {_own_origin(scope, headers)}:
            response = PlainTextResponse(
                "Cross-origin request refused (the Origin is not this console's).",
                status_code=403,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _own_origin(scope: Scope, headers: dict[str, str]) -> str:
    """The origin the browser sees: the scheme (as the server got it) and the Host."""
    scheme = str(scope.get("scheme", "http"))
    host = headers.get("host")
    if host is None:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
    return _normal(scheme, host)


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token (created on first use)."""
    token = session.get(_SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[_SESSION_KEY] = token
    return token


def check_csrf(session: dict[str, Any], submitted: object) -> bool:
    """Whether ``submitted`` is the session's CSRF token."""
    expected = session.get(_SESSION_KEY)
    return (
        isinstance(expected, str)
        and isinstance(submitted, str)
        and hmac.compare_digest(expected.encode(), submitted.encode())
    )

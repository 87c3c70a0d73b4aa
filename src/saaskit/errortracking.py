"""Error tracking with Sentry (``saaskit[sentry]``): off unless ``SAASKIT_SENTRY__DSN`` is set.

What is reported: unhandled errors of requests (the 500s) and of background tasks
(a task that fails is logged at ERROR, which the SDK's logging integration reports),
each with the request id and the user id when there is one, the release
(``saaskit@<version>`` unless ``sentry.release`` names the host's), and the
environment.

What is not, by default: no email, name, IP address, cookie, token or request body.
``send_default_pii`` is off, request bodies are never read, local variables are not
sent, and :func:`scrub` runs on every event before it leaves the process: it keeps
only harmless request headers, drops query strings, keeps only the user's id, and
replaces anything that looks like an email address, a JWT, a bearer token or one of
the configured secrets in every string of the event (exception messages included:
an ``IntegrityError`` quotes the row it refused).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from saaskit.__about__ import __version__
from saaskit.exceptions import require_module
from saaskit.middleware import PRINCIPAL_SCOPE_KEY
from saaskit.settings import SaaSKitSettings

REQUEST_ID_SCOPE_KEY = "saaskit.request_id"
"""Where a request-id middleware leaves the request's id in the ASGI scope."""

_SAFE_HEADERS = frozenset(
    {"user-agent", "content-type", "content-length", "accept", "host", "x-request-id"}
)
_EMAIL = re.compile(r"[^\s@'\"<>(),;:]+@[^\s@'\"<>(),;:]+\.[A-Za-z]{2,}")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

Event = dict[str, Any]


def init_sentry(settings: SaaSKitSettings) -> bool:
    """Start the Sentry SDK for this process when ``settings.sentry.dsn`` is set.

    Returns whether it was started. Raises :class:`~saaskit.exceptions.MissingExtra`
    (``pip install 'saaskit[sentry]'``) when the SDK is not installed.
    """
    options = settings.sentry
    if options.dsn is None:
        return False
    require_module("sentry_sdk", "sentry")
    import sentry_sdk

    scrubber = build_scrubber(_secrets_of(settings))

    def before_send(event: Any, _hint: Any) -> Any:
        return scrubber(event)

    sentry_sdk.init(
        dsn=options.dsn.get_secret_value(),
        release=options.release or f"saaskit@{__version__}",
        environment=options.environment or settings.environment,
        sample_rate=options.sample_rate,
        traces_sample_rate=options.traces_sample_rate,
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=before_send,
        before_send_transaction=before_send,
        before_breadcrumb=before_send,
    )
    sentry_sdk.set_tag("saaskit.version", __version__)
    return True


def _secrets_of(settings: SaaSKitSettings) -> list[str]:
    values = [
        settings.secret_key,
        settings.billing.secret_key,
        settings.billing.webhook_secret,
        settings.email.smtp_password,
        settings.ai.api_key,
    ]
    return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


def build_scrubber(secrets: Iterable[str] = ()) -> Callable[[Event], Event]:
    """The ``before_send`` step: the event without personal data or secrets.

    Example:
        >>> scrub = build_scrubber(["s3cret-value"])
        >>> scrub({"message": "alice@example.com sent s3cret-value"})["message"]
        '[email] sent [secret]'
    """
    known = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def clean_text(text: str) -> str:
        for secret in known:
            text = text.replace(secret, "[secret]")
        text = _JWT.sub("[token]", text)
        text = _BEARER.sub(r"\1 [token]", text)
        return _EMAIL.sub("[email]", text)

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return clean_text(value)
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [clean(item) for item in value]
        return value

    def scrub(event: Event) -> Event:
        request = event.get("request")
        if isinstance(request, dict):
            for field in ("data", "cookies", "query_string", "env"):
                request.pop(field, None)
            headers = request.get("headers")
            if isinstance(headers, dict):
                request["headers"] = {
                    k: v for k, v in headers.items() if k.lower() in _SAFE_HEADERS
                }
            if isinstance(request.get("url"), str):
                request["url"] = request["url"].split("?", 1)[0]
        user = event.get("user")
        if isinstance(user, dict):
            event["user"] = {"id": user["id"]} if "id" in user else {}
        cleaned: Event = clean(event)
        return cleaned

    return scrub


class SentryContextMiddleware:
    """Tag each request's errors with its request id and the authenticated user's id.

    The id comes from the scope (a request-id middleware), else from a well-formed
    ``X-Request-ID`` header; the user from saaskit's auth dependencies. Only ids are
    set: never the email.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Tag the request's Sentry scope with its request id and route."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except Exception:
            _tag_current_scope(scope)
            raise


def _tag_current_scope(scope: Scope) -> None:
    import sentry_sdk

    request_id = scope.get(REQUEST_ID_SCOPE_KEY) or _header(scope, b"x-request-id")
    if request_id and _VALID_REQUEST_ID.fullmatch(request_id):
        sentry_sdk.set_tag("request_id", request_id)
    principal = scope.get(PRINCIPAL_SCOPE_KEY)
    user_id = getattr(getattr(principal, "user", None), "id", None)
    if user_id is not None:
        sentry_sdk.set_user({"id": str(user_id)})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None

"""The AI router: ``POST /chat`` (JSON or server-sent events) and ``GET /usage``.

With ``ai.pooled_org_quota`` both read the ``X-Organization`` header (a call in that
organization's context draws on its quota), and ``GET /orgs/{org_id}/usage`` shows an
organization's usage per member to members with ``ai:read``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send
from typing_extensions import override

from saaskit.ai.pool import OrgMember, Payer
from saaskit.ai.schemas import (
    ChatReply,
    ChatRequest,
    OrgUsageSummary,
    StreamDelta,
    StreamError,
    StreamErrorDetail,
    StreamUsage,
    Usage,
    UsageSummary,
)
from saaskit.ai.service import AIService
from saaskit.ai.streaming import ChatStream
from saaskit.errors import error_responses
from saaskit.exceptions import SaaSKitError
from saaskit.routing import body_limits, new_router
from saaskit.settings import SaaSKitSettings
from saaskit.types import UserT, UserT_co


class ActiveUserDependency(Protocol[UserT_co]):
    """The auth dependency that admits active users."""

    @property
    def current_active_user(self) -> Callable[..., Awaitable[UserT_co]]: ...

    @property
    def current_session_user(self) -> Callable[..., Awaitable[UserT_co]]: ...


class AIRouterKit(Protocol[UserT_co]):
    """What the AI router needs of the kit (:class:`saaskit.SaaSKit` has it)."""

    @property
    def settings(self) -> SaaSKitSettings: ...

    @property
    def ai(self) -> AIService: ...

    @property
    def dependencies(self) -> ActiveUserDependency[UserT_co]: ...

    # Organizations (used with ``ai.pooled_org_quota`` only).
    @property
    def optional_org(self) -> Callable[..., Awaitable[OrgMember | None]]: ...

    def require_org_permission(self, permission: str, /) -> Callable[..., Awaitable[OrgMember]]: ...


AI_READ = "ai:read"
"""The organization permission that shows an organization's AI usage per member."""

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"

OrgId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The organization's id.")]


_STREAM_DOC = (
    "With `stream: true`: `text/event-stream`, one `data: {json}` line per event "
    "(`delta` pieces, then `usage` or `error`), then `data: [DONE]`."
)


def _event(payload: BaseModel) -> str:
    return f"data: {payload.model_dump_json()}\n\n"


async def _events(stream: ChatStream) -> AsyncIterator[str]:
    try:
        async for piece in stream:
            yield _event(StreamDelta(content=piece))
    except SaaSKitError as error:
        detail = StreamErrorDetail(code=error.code, message=error.message)
        yield _event(StreamError(error=detail))
    else:
        charged = stream.usage
        assert charged is not None  # set when the stream settles
        usage = Usage(
            prompt_tokens=charged.prompt_tokens,
            completion_tokens=charged.completion_tokens,
            total_tokens=charged.total_tokens,
        )
        yield _event(StreamUsage(finish_reason=stream.finish_reason, usage=usage))
    yield "data: [DONE]\n\n"


class ChatEventStream(StreamingResponse):
    """Server-sent events of a :class:`ChatStream`, settled however the response ends.

    A client that goes away is charged what was streamed (see ``saaskit.ai.streaming``).
    """

    media_type = "text/event-stream"

    def __init__(self, stream: ChatStream) -> None:
        # no-cache and X-Accel-Buffering keep proxies (nginx) from holding events back.
        super().__init__(
            _events(stream), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
        self.stream = stream

    @override
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.stream.aclose()


def build_ai_router(kit: AIRouterKit[UserT]) -> APIRouter:
    """Routes under ``{api_prefix}/ai``."""
    router = new_router(body_limits(kit.settings.http))
    deps = kit.dependencies
    pooled = kit.settings.ai.pooled_org_quota
    org_errors = (404,) if pooled else ()

    async def no_org() -> None:
        return None

    # With pooled quotas a request may name an organization (X-Organization): its calls
    # draw on that organization's quota (404 for a non-member). Else the header is ignored.
    in_org: Callable[..., Awaitable[OrgMember | None]] = no_org
    if pooled:
        try:
            in_org = kit.optional_org
        except RuntimeError as error:  # organizations are switched off
            raise RuntimeError(
                "SAASKIT_AI__POOLED_ORG_QUOTA needs organizations (SAASKIT_ORGS__ENABLED)"
            ) from error

    def payer(user: Any, org: OrgMember | None) -> Payer:
        return int(user.id) if org is None else org

    @router.post(
        "/chat",
        name="ai:chat",
        response_model=ChatReply,
        status_code=status.HTTP_200_OK,
        responses={
            200: {"description": _STREAM_DOC, "content": {"text/event-stream": {}}},
            **error_responses(401, 403, *org_errors, 422, 429, 502, 503, 504),
        },
    )
    async def chat(
        body: ChatRequest,
        user: UserT = Depends(deps.current_session_user),
        org: OrgMember | None = Depends(in_org),
    ) -> Any:
        """Answer a conversation within the monthly token quota.

        The user's own quota, or, with pooled organization quotas and an `X-Organization`
        header, that organization's.
        """
        owner = payer(user, org)
        if body.stream:
            stream = await kit.ai.stream_chat(
                owner, body.messages, model=body.model, max_tokens=body.max_tokens
            )
            return ChatEventStream(stream)
        return await kit.ai.chat(owner, body.messages, model=body.model, max_tokens=body.max_tokens)

    @router.get(
        "/usage",
        name="ai:usage",
        response_model=UsageSummary,
        status_code=status.HTTP_200_OK,
        responses=error_responses(401, *org_errors),
    )
    async def usage(
        user: UserT = Depends(deps.current_active_user),
        org: OrgMember | None = Depends(in_org),
    ) -> UsageSummary:
        """This month's token usage and quota (the organization's with `X-Organization`)."""
        return await kit.ai.usage(payer(user, org))

    if pooled:

        @router.get(
            "/orgs/{org_id}/usage",
            name="ai:org_usage",
            response_model=OrgUsageSummary,
            status_code=status.HTTP_200_OK,
            responses=error_responses(401, 403, 404, 422),
        )
        async def organization_usage(
            org_id: OrgId,
            org: OrgMember = Depends(kit.require_org_permission(AI_READ)),
            month: str | None = Query(
                None, pattern=MONTH_PATTERN, description="`YYYY-MM` (UTC); default: this month."
            ),
        ) -> OrgUsageSummary:
            """An organization's pooled AI usage in a month, per member (`ai:read`).

            Members who left or were removed keep their share.
            """
            return await kit.ai.organization_usage(org.organization_id, month)

    return router

"""Request and response bodies of the AI router (also returned by ``kit.ai``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from saaskit.exceptions import ErrorCode
from saaskit.text import MultiLine, SingleLine

MAX_MESSAGES = 200


class ChatMessage(BaseModel):
    """One message of a conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class ChatMessageIn(ChatMessage):
    """A message sent by the client: no control characters but tabs and line breaks."""

    content: MultiLine


class ChatRequest(BaseModel):
    """``POST /ai/chat``: the conversation so far and how to answer it."""

    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessageIn] = Field(min_length=1, max_length=MAX_MESSAGES)
    model: SingleLine | None = Field(
        None, max_length=128, description="One of the allowed models (default: the default)."
    )
    max_tokens: int | None = Field(
        None,
        ge=1,
        description="Longest answer in tokens (capped by the server); a smaller value "
        "reserves less of the quota.",
    )
    stream: bool = Field(False, description="Answer as server-sent events.")


class Usage(BaseModel):
    """Tokens charged for one call."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatReply(BaseModel):
    """The answer to a chat request and what it cost."""

    id: str
    model: str
    message: ChatMessage
    finish_reason: str | None
    usage: Usage


class ModelUsageRead(BaseModel):
    """One model's share of a month's usage."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    requests: int


class UsageSummary(BaseModel):
    """``GET /ai/usage``: this month's recorded usage against the quota."""

    month: str = Field(
        description="`YYYY-MM` (UTC); with `ai.quota_period = billing_period`, the current "
        "billing period's key (`P` and 5 characters) when there is a subscription."
    )
    quota: int | None = Field(description="Monthly tokens allowed; null means unlimited.")
    used_tokens: int
    remaining_tokens: int | None
    prompt_tokens: int
    completion_tokens: int
    requests: int
    resets_at: datetime = Field(
        description="When the quota resets: the first of next month (UTC), or the end of the "
        "billing period."
    )
    models: list[ModelUsageRead]


class MemberUsageRead(BaseModel):
    """One member's share of an organization's pooled usage this month."""

    user_id: int | None = Field(
        description="The member (also after they left); null: accounts since deleted."
    )
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    requests: int
    models: list[ModelUsageRead]


class OrgUsageSummary(UsageSummary):
    """``GET /ai/orgs/{org_id}/usage``: an organization's pooled usage, per member."""

    organization_id: int
    members: list[MemberUsageRead] = Field(
        description="Each member's share, most tokens first (members who left included)."
    )
    unattributed_tokens: int = Field(
        description="Tokens recorded for the organization without a member (host code)."
    )


class StreamDelta(BaseModel):
    """An SSE event with the next piece of the answer."""

    type: Literal["delta"] = "delta"
    content: str


class StreamUsage(BaseModel):
    """The last SSE event of a successful stream, before ``[DONE]``."""

    type: Literal["usage"] = "usage"
    finish_reason: str | None
    usage: Usage


class StreamErrorDetail(BaseModel):
    """What went wrong mid-stream, in saaskit's error shape (code and message)."""

    code: ErrorCode
    message: str


class StreamError(BaseModel):
    """The SSE event sent instead of ``usage`` when the provider fails mid-stream.

    Nothing is charged.
    """

    type: Literal["error"] = "error"
    error: StreamErrorDetail

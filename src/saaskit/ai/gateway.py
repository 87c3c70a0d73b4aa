"""The AI provider behind a small protocol, with ``AsyncOpenAI`` as the implementation.

Any OpenAI-compatible server works (``ai.base_url``: vLLM, Ollama, LiteLLM, Azure
proxies, the fake in :mod:`saaskit.testing`). The ``openai`` package is imported on
first use, so saaskit works without the ``saaskit[ai]`` extra until AI is called.

Provider failures become saaskit exceptions here (429 → :class:`AIUpstreamRateLimited`,
timeouts → :class:`AIUpstreamTimeout`, the rest → :class:`AIUpstreamError`); their
client-facing messages never include the provider's text, which goes to the log.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from saaskit.exceptions import (
    AIUpstreamError,
    AIUpstreamRateLimited,
    AIUpstreamTimeout,
    require_module,
)
from saaskit.observability.tracing import span
from saaskit.settings import AISettings

if TYPE_CHECKING:
    from openai import AsyncOpenAI, AsyncStream, OpenAIError, RateLimitError
    from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

logger = logging.getLogger("saaskit.ai")

OPENAI_API = "https://api.openai.com/v1"
_MAX_RETRY_AFTER = 3600

Message = dict[str, str]
"""A chat message as sent to the provider: ``{"role": ..., "content": ...}``."""


@dataclass(frozen=True)
class TokenUsage:
    """Tokens of one call, as the provider reported (or saaskit estimated) them."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Completion:
    """A finished chat completion (the first choice)."""

    id: str
    model: str
    content: str
    finish_reason: str | None
    usage: TokenUsage | None


@dataclass(frozen=True)
class CompletionChunk:
    """One piece of a streamed completion; the last one usually carries only ``usage``."""

    content: str
    finish_reason: str | None = None
    usage: TokenUsage | None = None


class ChunkStream(Protocol):
    """An open streamed completion."""

    def __aiter__(self) -> AsyncGenerator[CompletionChunk, None]: ...

    async def aclose(self) -> None:
        """Close the stream early (the provider stops generating)."""
        ...


class ChatGateway(Protocol):
    """What saaskit needs from an AI provider."""

    async def complete(
        self, *, model: str, messages: Sequence[Message], max_tokens: int
    ) -> Completion:
        """One chat completion of at most ``max_tokens``.

        Raises:
            AIUpstreamError: the provider failed or refused (a subclass says which).
        """
        ...

    async def open_stream(
        self, *, model: str, messages: Sequence[Message], max_tokens: int
    ) -> ChunkStream:
        """Start a streamed completion; provider errors before the first chunk raise here."""
        ...

    async def aclose(self) -> None:
        """Release the provider client's connections."""
        ...


def create_openai_client(settings: AISettings) -> AsyncOpenAI:
    """An ``AsyncOpenAI`` client configured from ``settings``.

    The key and base URL never come from ``OPENAI_*`` variables, so the settings are the one
    source of truth.
    """
    require_module("openai", "ai")
    from openai import AsyncOpenAI

    # A keyless local server still needs a non-empty key for the SDK.
    key = settings.api_key.get_secret_value() if settings.api_key else "unused"
    return AsyncOpenAI(
        api_key=key,
        base_url=settings.base_url or OPENAI_API,
        organization=settings.organization,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
    )


class OpenAIGateway:
    """:class:`ChatGateway` over ``AsyncOpenAI`` (``client`` is built on first use)."""

    def __init__(self, settings: AISettings, client: AsyncOpenAI | None = None) -> None:
        self.settings = settings
        self._client = client

    @property
    def client(self) -> AsyncOpenAI:
        """The SDK client, for host calls the gateway does not cover (meter them yourself)."""
        if self._client is None:
            self._client = create_openai_client(self.settings)
        return self._client

    def _limit(self, max_tokens: int) -> dict[str, Any]:
        return {self.settings.max_tokens_parameter: max_tokens}

    async def complete(
        self, *, model: str, messages: Sequence[Message], max_tokens: int
    ) -> Completion:
        """One chat completion through the OpenAI SDK, in a span.

        Raises:
            AIUpstreamError: the provider failed or refused (a subclass says which).
        """
        try:
            with span("openai chat", {"gen_ai.request.model": model}):
                response = await self.client.chat.completions.create(
                    model=model,
                    messages=cast("list[ChatCompletionMessageParam]", list(messages)),
                    stream=False,
                    **self._limit(max_tokens),
                )
        except _openai_error() as error:
            raise translate_error(error) from error
        choice = response.choices[0] if response.choices else None
        usage = response.usage
        return Completion(
            id=response.id,
            model=response.model,
            content=(choice.message.content or "") if choice else "",
            finish_reason=choice.finish_reason if choice else None,
            usage=TokenUsage(usage.prompt_tokens, usage.completion_tokens) if usage else None,
        )

    async def open_stream(
        self, *, model: str, messages: Sequence[Message], max_tokens: int
    ) -> ChunkStream:
        """Start a streamed completion that reports usage in its last chunk.

        Raises:
            AIUpstreamError: the provider failed before the first chunk.
        """
        try:
            with span("openai chat", {"gen_ai.request.model": model, "saaskit.stream": True}):
                raw = await self.client.chat.completions.create(
                    model=model,
                    messages=cast("list[ChatCompletionMessageParam]", list(messages)),
                    stream=True,
                    stream_options={"include_usage": True},
                    **self._limit(max_tokens),
                )
        except _openai_error() as error:
            raise translate_error(error) from error
        return _OpenAIChunkStream(raw)

    async def aclose(self) -> None:
        """Close the OpenAI client, if one was made."""
        if self._client is not None:
            await self._client.close()


class _OpenAIChunkStream:
    def __init__(self, raw: AsyncStream[ChatCompletionChunk]) -> None:
        self._raw = raw

    async def __aiter__(self) -> AsyncGenerator[CompletionChunk, None]:
        try:
            async for chunk in self._raw:
                usage = chunk.usage
                tokens = TokenUsage(usage.prompt_tokens, usage.completion_tokens) if usage else None
                if not chunk.choices:
                    if tokens is not None:
                        yield CompletionChunk(content="", usage=tokens)
                    continue
                choice = chunk.choices[0]
                yield CompletionChunk(
                    content=choice.delta.content or "",
                    finish_reason=choice.finish_reason,
                    usage=tokens,
                )
        except _openai_error() as error:
            raise translate_error(error) from error

    async def aclose(self) -> None:
        await self._raw.close()


def _openai_error() -> type[OpenAIError]:
    import openai

    return openai.OpenAIError


def translate_error(error: OpenAIError) -> AIUpstreamError:
    """The saaskit exception for an ``openai`` error."""
    import openai

    failure = _describe(error)
    logger.warning("AI provider call failed: %s", failure)
    if isinstance(error, openai.APITimeoutError):
        return AIUpstreamTimeout(failure)
    if isinstance(error, openai.RateLimitError):
        return AIUpstreamRateLimited(failure, retry_after=_retry_after(error))
    return AIUpstreamError(failure)


def _describe(error: OpenAIError) -> str:
    import openai

    if isinstance(error, openai.APIStatusError):
        code = getattr(error, "code", None)
        return f"HTTP {error.status_code}" + (f" {code}" if code else "") + f": {error.message}"
    return f"{type(error).__name__}: {error}"


def _retry_after(error: RateLimitError) -> int | None:
    headers = error.response.headers
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        try:
            seconds = float(value) / scale if value is not None else math.nan
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return min(_MAX_RETRY_AFTER, max(1, math.ceil(seconds)))
    return None

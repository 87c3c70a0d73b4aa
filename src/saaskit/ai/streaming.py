"""A streamed chat answer that settles its quota reservation exactly once.

How a stream is charged:

- it ends normally: the usage of the provider's final chunk (asked for with
  ``stream_options={"include_usage": true}``); a server that sends none is charged
  saaskit's estimate (prompt estimate + one token per streamed piece);
- the provider fails mid-stream: nothing (the reservation is released);
- the consumer stops early (``aclose()``, e.g. the browser went away): the provider is
  told by closing the connection, and the user is charged the prompt estimate plus one
  token per piece already streamed: what the provider has most likely generated.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from types import TracebackType
from typing import Literal

import anyio

from saaskit.ai.gateway import ChunkStream, TokenUsage
from saaskit.ai.metering import Reservation, UsageMeter

logger = logging.getLogger("saaskit.ai")


class ChatStream:
    """Iterate for the answer's text pieces; ``usage`` is set once it is settled.

    Use it as an async context manager (or call :meth:`aclose`) so that a stream left
    early still settles its reservation:

    ```python
    async with await kit.ai.stream_chat(user.id, messages) as stream:
        async for piece in stream:
            print(piece, end="")
    print(stream.usage)
    ```
    """

    def __init__(
        self,
        chunks: ChunkStream,
        *,
        meter: UsageMeter,
        reservation: Reservation,
        model: str,
        prompt_estimate: int,
    ) -> None:
        self.model = model
        self.finish_reason: str | None = None
        self.usage: TokenUsage | None = None
        """What was charged, once settled (``None`` if the call failed)."""
        self._chunks = chunks
        self._meter = meter
        self._reservation = reservation
        self._prompt_estimate = prompt_estimate
        self._reported: TokenUsage | None = None
        self._pieces = 0
        self._iterator: AsyncGenerator[str, None] | None = None

    @property
    def settled(self) -> bool:
        """Whether the stream's usage was charged (it ended, failed or was left)."""
        return self._reservation.settled

    def __aiter__(self) -> AsyncIterator[str]:
        if self._iterator is not None:
            raise RuntimeError("a ChatStream can be iterated only once")
        self._iterator = self._iterate()
        return self._iterator

    async def _iterate(self) -> AsyncGenerator[str, None]:
        try:
            # aclosing: leaving this generator early closes the provider's one too.
            async with aclosing(self._chunks.__aiter__()) as chunks:
                async for chunk in chunks:
                    if chunk.usage is not None:
                        self._reported = chunk.usage
                    if chunk.finish_reason is not None:
                        self.finish_reason = chunk.finish_reason
                    if chunk.content:
                        self._pieces += 1
                        yield chunk.content
        except Exception:
            await self._settle("failed")
            raise
        await self._settle("completed")

    async def aclose(self) -> None:
        """Stop the stream (if still running) and settle the reservation."""
        with anyio.CancelScope(shield=True):
            if not self.settled:
                await self._chunks.aclose()
            await self._settle("abandoned")
            if self._iterator is not None:
                await self._iterator.aclose()

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _settle(self, outcome: Literal["completed", "failed", "abandoned"]) -> None:
        if self.settled:
            return
        with anyio.CancelScope(shield=True):
            if outcome == "failed":
                await self._meter.release(self._reservation)
                return
            usage = self._reported
            if usage is None:
                usage = TokenUsage(self._prompt_estimate, self._pieces)
                if outcome == "completed":
                    logger.warning(
                        "AI stream from %s ended without a usage chunk; charging an estimate",
                        self.model,
                    )
            self.usage = usage
            try:
                await self._meter.commit(
                    self._reservation, self.model, usage.prompt_tokens, usage.completion_tokens
                )
            except Exception:
                # The counter is already charged; only the durable row is missing.
                logger.exception("could not record AI usage of %s", self._reservation.owner)

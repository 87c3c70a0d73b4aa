"""AI business rules: model allowlist, quota reservation, provider call, metering.

No HTTP here: routes, the CLI, tasks and host code all use ``kit.ai``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from saaskit.ai.estimate import estimate_prompt_tokens, estimate_text_tokens
from saaskit.ai.gateway import ChatGateway, Completion, Message, OpenAIGateway, TokenUsage
from saaskit.ai.metering import ModelUsage, MonthlyUsage, Reservation, UsageMeter
from saaskit.ai.pool import ORGANIZATION, Payer, bill_to
from saaskit.ai.quotas import (
    OwnerPlanLookup,
    OwnerQuotaResolver,
    PlanLookup,
    QuotaResolver,
    owner_tokens,
)
from saaskit.ai.schemas import (
    ChatMessage,
    ChatReply,
    MemberUsageRead,
    ModelUsageRead,
    OrgUsageSummary,
    Usage,
    UsageSummary,
)
from saaskit.ai.streaming import ChatStream
from saaskit.exceptions import AIModelNotAllowed, AIModelNotInPlan, AINotConfigured
from saaskit.owners import Owner
from saaskit.settings import AISettings

if TYPE_CHECKING:
    from openai import AsyncOpenAI

logger = logging.getLogger("saaskit.ai")

MessagesInput = Iterable[ChatMessage | Mapping[str, str]]
"""Messages as models or plain dicts: ``[{"role": "user", "content": "Hi"}]``."""


class MeteredCall:
    """A host's own provider call inside :meth:`AIService.metered`: commit what it used."""

    def __init__(self, meter: UsageMeter, reservation: Reservation) -> None:
        self.meter = meter
        self.reservation = reservation

    @property
    def committed(self) -> bool:
        """Whether the call's usage was recorded (its reservation settled)."""
        return self.reservation.settled

    async def commit(self, model: str, prompt_tokens: int, completion_tokens: int) -> None:
        """Charge the call's real usage (e.g. ``response.usage.prompt_tokens``)."""
        await self.meter.commit(self.reservation, model, prompt_tokens, completion_tokens)


class AIService:
    """Chat with metering and monthly quotas per billing owner (``kit.ai``).

    Every method takes the owner the call is billed to: an
    :class:`~saaskit.owners.Owner`, or a user id (``int``) as before owners, or a
    member in an organization's context (:class:`~saaskit.ai.pool.OrgMember`, e.g. the
    ``OrgContext`` of ``kit.current_org``): with ``ai.pooled_org_quota`` that call is
    billed to the organization and recorded for the member too, else it is the member's.

    Example:
        ```python
        reply = await kit.ai.chat(user.id, [{"role": "user", "content": "Hello"}])
        print(reply.message.content, reply.usage.total_tokens)
        ```

    Args:
        settings: the ``ai`` settings section.
        meter: reservations and the ``ai_usage`` table.
        quotas: each owner's monthly tokens (a per-user :class:`QuotaResolver` serves
            user owners only).
        gateway: the provider (default: ``AsyncOpenAI`` from the settings, built on
            first use).
        estimate_prompt: the prompt's token bound used for reservations (default: one
            token per byte plus framing, :mod:`saaskit.ai.estimate`); the quota
            guarantee holds only if it never counts fewer tokens than the provider.
        plans: each owner's plan, for the plans' ``ai_models`` and ``ai_overage``
            (``None``: no plan sets them; every allowed model, quotas are hard caps).
    """

    def __init__(
        self,
        settings: AISettings,
        meter: UsageMeter,
        quotas: QuotaResolver | OwnerQuotaResolver,
        gateway: ChatGateway | None = None,
        *,
        estimate_prompt: Callable[[Sequence[Message]], int] = estimate_prompt_tokens,
        plans: PlanLookup | None = None,
    ) -> None:
        self.settings = settings
        self.plans = plans
        self.meter = meter
        self.quotas = quotas
        self._gateway = gateway
        self.estimate_prompt = estimate_prompt

    @property
    def gateway(self) -> ChatGateway:
        """The provider; raises :class:`AINotConfigured` when AI is not set up."""
        if self._gateway is None:
            if not self.settings.enabled:
                raise AINotConfigured()
            self._gateway = OpenAIGateway(self.settings)
        return self._gateway

    @property
    def client(self) -> AsyncOpenAI:
        """The ``AsyncOpenAI`` client, for calls ``chat`` does not cover.

        Meter them with :meth:`metered` or :meth:`record_usage`.
        """
        gateway = self.gateway
        if not isinstance(gateway, OpenAIGateway):
            raise TypeError("this kit's AI gateway is not an OpenAIGateway")
        return gateway.client

    def resolve_model(self, model: str | None) -> str:
        """``model`` if allowed (default: ``ai.default_model``), else :class:`AIModelNotAllowed`."""
        allowed = self.settings.models
        if model is None:
            return self.settings.default_model
        if model not in allowed:
            raise AIModelNotAllowed(
                f"This model is not available; use one of: {', '.join(allowed)}."
            )
        return model

    def completion_limit(self, max_tokens: int | None) -> int:
        """The answer's token cap: the request's, never above ``ai.max_tokens``."""
        cap = self.settings.max_tokens
        return cap if max_tokens is None else max(1, min(max_tokens, cap))

    async def chat(
        self,
        owner: Payer,
        messages: MessagesInput,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> ChatReply:
        """Answer ``messages`` for ``owner``, within its quota, and record the usage.

        The reservation is the call's worst case: the prompt's bound (one token per
        byte of text, plus framing) and the answer's cap, which is sent to the provider.

        Raises:
            AIModelNotAllowed: ``model`` is not allowed.
            AIModelNotInPlan: the owner's plan does not include ``model`` (its
                ``ai_models``).
            AIQuotaExceeded: the worst case does not fit in what is left of the quota
                (no call is made).
            AIUpstreamError: the provider failed (nothing is charged).
            pydantic.ValidationError: a message is not text (``content`` must be a str).
        """
        name, limit, payload = self._prepare(model, max_tokens, messages)
        gateway = self.gateway
        prompt_estimate = self.estimate_prompt(payload)
        reservation = await self._reserve(owner, prompt_estimate + limit, name)
        try:
            completion = await gateway.complete(model=name, messages=payload, max_tokens=limit)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.meter.release(reservation)
            raise
        usage = completion.usage or self._estimated(completion, prompt_estimate, limit)
        with anyio.CancelScope(shield=True):
            await self._commit(reservation, name, usage)
        return ChatReply(
            id=completion.id,
            model=completion.model,
            message=ChatMessage(role="assistant", content=completion.content),
            finish_reason=completion.finish_reason,
            usage=_usage(usage),
        )

    async def stream_chat(
        self,
        owner: Payer,
        messages: MessagesInput,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> ChatStream:
        """Like :meth:`chat`, but the answer streams.

        Errors before the first piece (quota, model, provider refusal) raise here, not while
        iterating.

        Close the returned :class:`ChatStream` (``async with``) so that a stream left
        early still settles its reservation.
        """
        name, limit, payload = self._prepare(model, max_tokens, messages)
        gateway = self.gateway
        prompt_estimate = self.estimate_prompt(payload)
        reservation = await self._reserve(owner, prompt_estimate + limit, name)
        try:
            chunks = await gateway.open_stream(model=name, messages=payload, max_tokens=limit)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.meter.release(reservation)
            raise
        return ChatStream(
            chunks,
            meter=self.meter,
            reservation=reservation,
            model=name,
            prompt_estimate=prompt_estimate,
        )

    def bill_to(self, owner: Payer) -> tuple[Owner, int | None]:
        """The owner a call for ``owner`` is billed to, and the member it is recorded for.

        A member in an organization's context bills the organization (``member`` set)
        with ``ai.pooled_org_quota``, else themselves; owners and user ids bill themselves.
        """
        return bill_to(owner, pooled=self.settings.pooled_org_quota)

    async def record_usage(
        self, owner: Payer, model: str, prompt_tokens: int, completion_tokens: int
    ) -> None:
        """Record a host's own call (no quota check; counts toward the quota)."""
        billed, member = self.bill_to(owner)
        await self.meter.record(billed, model, prompt_tokens, completion_tokens, member=member)

    @asynccontextmanager
    async def metered(self, owner: Payer, *, estimate: int) -> AsyncIterator[MeteredCall]:
        """Reserve ``estimate`` tokens for a host's own call, within the owner's quota.

        Commit the real usage inside the block; leaving it without a commit (or with an
        exception) releases the reservation, so nothing is charged.

        Example:
            ```python
            async with kit.ai.metered(user.id, estimate=2000) as call:
                response = await kit.ai.client.embeddings.create(...)
                await call.commit("text-embedding-3-small", response.usage.prompt_tokens, 0)
            ```
        """
        reservation = await self._reserve(owner, estimate)
        call = MeteredCall(self.meter, reservation)
        try:
            yield call
        finally:
            if not reservation.settled:
                with anyio.CancelScope(shield=True):
                    await self.meter.release(reservation)

    async def quota(self, owner: Payer) -> int | None:
        """The monthly token allowance of whom ``owner`` is billed to (``None``: unlimited)."""
        billed, _ = self.bill_to(owner)
        return await owner_tokens(self.quotas, billed)

    async def usage(self, owner: Payer) -> UsageSummary:
        """This month's recorded usage of whom ``owner`` is billed to, and its quota.

        For a member in an organization's context with pooled quotas: the organization's.
        """
        billed, _ = self.bill_to(owner)
        quota = await self.quota(billed)
        month = await self.meter.usage(billed)
        return UsageSummary(**_summary(quota, month))

    async def organization_usage(
        self, organization_id: int, month: str | None = None
    ) -> OrgUsageSummary:
        """An organization's pooled usage in ``month`` (default: this one), per member.

        Members who left or were removed keep their share; the quota is the current one.
        """
        owner = Owner(ORGANIZATION, organization_id)
        quota = await owner_tokens(self.quotas, owner)
        pooled = await self.meter.pooled_usage(owner, month)
        return OrgUsageSummary(
            **_summary(quota, pooled.total),
            organization_id=organization_id,
            unattributed_tokens=pooled.unattributed_tokens,
            members=[
                MemberUsageRead(
                    user_id=m.user_id,
                    prompt_tokens=sum(u.prompt_tokens for u in m.models),
                    completion_tokens=sum(u.completion_tokens for u in m.models),
                    total_tokens=m.total_tokens,
                    requests=m.requests,
                    models=[_model_usage(u) for u in m.models],
                )
                for m in pooled.members
            ],
        )

    async def aclose(self) -> None:
        """Close the provider gateway, if one was opened."""
        if self._gateway is not None:
            await self._gateway.aclose()

    # -- internals ---------------------------------------------------------------

    def _prepare(
        self, model: str | None, max_tokens: int | None, messages: MessagesInput
    ) -> tuple[str, int, list[Message]]:
        payload = [
            (m if isinstance(m, ChatMessage) else ChatMessage.model_validate(m)).model_dump()
            for m in messages
        ]
        if not payload:
            raise ValueError("a chat needs at least one message")
        return self.resolve_model(model), self.completion_limit(max_tokens), payload

    async def _plan(self, owner: Owner) -> object | None:
        plans = self.plans
        if plans is None:
            return None
        if owner.kind == "user":
            return await plans.for_user(owner.id)
        if isinstance(plans, OwnerPlanLookup):
            return await plans.for_owner(owner)
        return None

    async def _reserve(self, owner: Payer, tokens: int, model: str | None = None) -> Reservation:
        billed, member = self.bill_to(owner)
        plan = await self._plan(billed)
        models: frozenset[str] = getattr(plan, "ai_models", frozenset())
        if model is not None and models and model not in models:
            raise AIModelNotInPlan(
                f"Your plan does not include {model}; it includes: {', '.join(sorted(models))}."
            )
        quota = await owner_tokens(self.quotas, billed)
        if quota is not None and getattr(plan, "ai_overage", False) and self.meter.outbox:
            # Overage: past the quota the calls go on, each billed through the meter.
            quota = None
        if member is None:  # the pre-pool call, for meters (and test doubles) without members
            return await self.meter.reserve(billed, tokens, quota=quota)
        return await self.meter.reserve(billed, tokens, quota=quota, member=member)

    @staticmethod
    def _estimated(completion: Completion, prompt_estimate: int, limit: int) -> TokenUsage:
        # Upper bounds, so a server that reports nothing is never under-charged: the
        # prompt's bound, and the answer's bytes up to the cap it was given.
        logger.warning("AI reply from %s carried no usage; charging an estimate", completion.model)
        return TokenUsage(prompt_estimate, min(limit, estimate_text_tokens(completion.content)))

    async def _commit(self, reservation: Reservation, model: str, usage: TokenUsage) -> None:
        try:
            await self.meter.commit(
                reservation, model, usage.prompt_tokens, usage.completion_tokens
            )
        except Exception:
            # The answer is paid for and the quota counter charged; only the durable row
            # is missing. Failing the request now would waste the answer.
            logger.exception("could not record AI usage of %s", reservation.owner)


def _model_usage(usage: ModelUsage) -> ModelUsageRead:
    return ModelUsageRead(
        model=usage.model,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        requests=usage.requests,
    )


def _summary(quota: int | None, month: MonthlyUsage) -> dict[str, Any]:
    used = month.total_tokens
    return {
        "month": month.month,
        "quota": quota,
        "used_tokens": used,
        "remaining_tokens": None if quota is None else max(0, quota - used),
        "prompt_tokens": month.prompt_tokens,
        "completion_tokens": month.completion_tokens,
        "requests": month.requests,
        "resets_at": month.resets_at,
        "models": [_model_usage(m) for m in month.models],
    }


def _usage(usage: TokenUsage) -> Usage:
    return Usage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
    )

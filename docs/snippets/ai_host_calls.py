"""Host code that uses ``kit.ai``: chat, streaming, and metering its own provider calls."""

from typing import Any

from fastapi import Depends, FastAPI
from openai.types.chat import ChatCompletionMessageParam

from saaskit import SaaSKit
from saaskit.ai.estimate import estimate_prompt_tokens
from saaskit.ai.pool import InOrganization
from saaskit.ai.quotas import DefaultQuota, PlanQuota, QuotasByKind
from saaskit.orgs.service import OrgContext
from saaskit.owners import Owner


# --8<-- [start:chat]
async def summarise(kit: SaaSKit[Any], user_id: int, text: str) -> str:
    """One metered, quota-checked chat call from host code (a task, a CLI, a route)."""
    reply = await kit.ai.chat(
        user_id,
        [
            {"role": "system", "content": "Summarise the text in one sentence."},
            {"role": "user", "content": text},
        ],
        max_tokens=100,  # a smaller cap reserves less of the user's quota
    )
    return reply.message.content
    # --8<-- [end:chat]


# --8<-- [start:stream]
async def story(kit: SaaSKit[Any], user_id: int, prompt: str) -> str:
    """A streamed answer; ``async with`` settles the reservation even if the loop stops early."""
    parts: list[str] = []
    async with await kit.ai.stream_chat(user_id, [{"role": "user", "content": prompt}]) as stream:
        async for piece in stream:
            parts.append(piece)  # e.g. push it to a websocket
    assert stream.usage is not None  # what was charged
    return "".join(parts)
    # --8<-- [end:stream]


# --8<-- [start:metered]
async def classify(kit: SaaSKit[Any], user_id: int, ticket: str) -> str:
    """A provider call ``kit.ai.chat`` does not cover (JSON mode), metered and quota-checked."""
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": 'Answer with JSON: {"team": "billing" | "tech"}.'},
        {"role": "user", "content": ticket},
    ]
    async with kit.ai.metered(user_id, estimate=estimate_prompt_tokens(messages) + 50) as call:
        response = await kit.ai.client.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
            max_completion_tokens=50,
            response_format={"type": "json_object"},
        )
        assert response.usage is not None
        await call.commit(
            "gpt-4o-mini", response.usage.prompt_tokens, response.usage.completion_tokens
        )
    return response.choices[0].message.content or ""
    # --8<-- [end:metered]


# --8<-- [start:record]
async def after_another_provider(
    kit: SaaSKit[Any], user_id: int, input_tokens: int, output_tokens: int
) -> None:
    """A call already made elsewhere (another SDK, a batch job): count it toward the quota."""
    await kit.ai.record_usage(user_id, "claude-sonnet", input_tokens, output_tokens)
    # --8<-- [end:record]


# --8<-- [start:owners]
async def summaries(kit: SaaSKit[Any], user_id: int, org_id: int, text: str) -> int:
    """The same call billed to a user, then to an organization; returns the latter's usage."""
    ask: list[dict[str, str]] = [{"role": "user", "content": f"Summarise: {text}"}]
    await kit.ai.chat(user_id, ask)  # the user's own quota
    await kit.ai.chat(Owner("organization", org_id), ask)  # the organization's
    summary = await kit.ai.usage(Owner("organization", org_id))
    return summary.used_tokens
    # --8<-- [end:owners]


# --8<-- [start:quotas-by-kind]
def pooled_quotas(kit: SaaSKit[Any]) -> None:
    """Plans for users, one pool of 2 million tokens a month for each organization."""
    kit.ai.quotas = QuotasByKind(
        {"user": PlanQuota(kit.plans, default=10_000), "organization": DefaultQuota(2_000_000)}
    )
    # --8<-- [end:quotas-by-kind]


# --8<-- [start:org-route]
def org_routes(app: FastAPI, kit: SaaSKit[Any]) -> None:
    """A host route in an organization's context: with pooled quotas, the organization pays."""

    @app.post("/api/v1/orgs/{org_id}/summaries")
    async def summarise_for_org(
        text: str, org: OrgContext = Depends(kit.current_org)
    ) -> dict[str, str]:
        # With SAASKIT_AI__POOLED_ORG_QUOTA=true: the organization's quota, recorded for the
        # calling member too; without it, the member's own quota.
        reply = await kit.ai.chat(org, [{"role": "user", "content": f"Summarise: {text}"}])
        return {"summary": reply.message.content}


async def nightly_digest(kit: SaaSKit[Any], org_id: int, user_id: int) -> str:
    """The same outside a request (a task): the member in the organization's context."""
    reply = await kit.ai.chat(
        InOrganization(organization_id=org_id, user_id=user_id),
        [{"role": "user", "content": "Write today's digest."}],
    )
    return reply.message.content
    # --8<-- [end:org-route]

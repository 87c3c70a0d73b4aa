"""POST /ai/chat and GET /ai/usage: answers, metering, quotas, allowlist, upstream errors."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from saaskit import SaaSKit
from saaskit.ai.estimate import estimate_prompt_tokens
from saaskit.ai.metering import counter_key
from saaskit.exceptions import AINotConfigured, MissingExtra
from saaskit.models import User
from saaskit.testing import FakeOpenAI
from tests.ai.helpers import AIKitFactory, ask, auth_headers, new_user
from tests.helpers import KitFactory, client_for

CHAT = "/api/v1/ai/chat"
USAGE = "/api/v1/ai/usage"
REPLY_WORDS = 7  # "Sure thing, here is a short answer"


def next_month_start() -> datetime:
    now = datetime.now(UTC)
    return datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)


async def user_id_of(kit: SaaSKit[User], email: str = "alice@example.com") -> int:
    user = await kit.users.get_by_email(email)
    assert user is not None
    return user.id


async def test_chat_answers_and_records_usage(
    ai_client: httpx.AsyncClient, ai_kit: SaaSKit[User], fake_openai: FakeOpenAI
) -> None:
    headers = await auth_headers(ai_client)

    response = await ai_client.post(CHAT, json={"messages": ask("How are you")}, headers=headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == {"role": "assistant", "content": "Sure thing, here is a short answer"}
    assert body["model"] == "gpt-4o-mini"
    assert body["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 7, "total_tokens": 10}
    (sent,) = fake_openai.chat_requests
    assert sent.body is not None
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.body["max_completion_tokens"] == 1024
    assert sent.body["messages"] == ask("How are you")

    usage = (await ai_client.get(USAGE, headers=headers)).json()
    assert usage["used_tokens"] == 10
    assert usage["quota"] == 100_000
    assert usage["remaining_tokens"] == 99_990
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["requests"]) == (3, 7, 1)
    assert usage["models"] == [
        {
            "model": "gpt-4o-mini",
            "prompt_tokens": 3,
            "completion_tokens": 7,
            "total_tokens": 10,
            "requests": 1,
        }
    ]
    assert usage["month"] == datetime.now(UTC).strftime("%Y-%m")
    assert datetime.fromisoformat(usage["resets_at"]) == next_month_start()
    # The quota counter holds exactly what was used (the reservation was settled).
    uid = await user_id_of(ai_kit)
    assert await ai_kit.ai.meter.counted(uid) == 10


async def test_usage_adds_up_per_model_over_calls(
    make_ai_kit: AIKitFactory, fake_openai: FakeOpenAI
) -> None:
    kit = await make_ai_kit(allowed_models=["gpt-4o-mini", "gpt-4o"])
    async with client_for(kit) as client:
        headers = await auth_headers(client)
        for model in ("gpt-4o-mini", "gpt-4o", "gpt-4o"):
            body = {"messages": ask("Hi"), "model": model}
            assert (await client.post(CHAT, json=body, headers=headers)).status_code == 200
        usage = (await client.get(USAGE, headers=headers)).json()

    assert [(m["model"], m["requests"], m["total_tokens"]) for m in usage["models"]] == [
        ("gpt-4o", 2, 16),
        ("gpt-4o-mini", 1, 8),
    ]
    assert usage["used_tokens"] == 24
    assert [r.body["model"] for r in fake_openai.chat_requests if r.body] == [
        "gpt-4o-mini",
        "gpt-4o",
        "gpt-4o",
    ]


async def test_call_that_would_pass_the_quota_is_refused_without_upstream_request(
    make_ai_kit: AIKitFactory, fake_openai: FakeOpenAI
) -> None:
    kit = await make_ai_kit(default_monthly_tokens=1000, max_tokens=20)
    reservation = estimate_prompt_tokens(ask("Hi")) + 20
    async with client_for(kit) as client:
        headers = await auth_headers(client)
        uid = await user_id_of(kit)
        # Exactly enough room for one reservation: that call passes...
        await kit.ai.record_usage(uid, "gpt-4o-mini", 1000 - reservation, 0)
        ok = await client.post(CHAT, json={"messages": ask("Hi")}, headers=headers)
        assert ok.status_code == 200, ok.text
        assert len(fake_openai.chat_requests) == 1

        # ...and the next one, which could pass the quota, is refused up front.
        refused = await client.post(CHAT, json={"messages": ask("Hi")}, headers=headers)

    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "ai_quota_exceeded"
    reset = next_month_start()
    assert reset.strftime("%Y-%m-%d") in error["message"]
    assert refused.headers["X-AI-Quota-Reset"] == reset.isoformat().replace("+00:00", "Z")
    assert refused.headers["X-AI-Quota-Limit"] == "1000"
    retry_after = int(refused.headers["Retry-After"])
    assert 0 < retry_after <= (reset - datetime.now(UTC)).total_seconds() + 1
    assert len(fake_openai.chat_requests) == 1  # no upstream request for the refused call
    used = 1000 - reservation + 8
    assert (await kit.ai.usage(uid)).used_tokens == used
    assert await kit.ai.meter.counted(uid) == used  # the refused reservation was undone


async def test_smaller_max_tokens_reserves_less(
    make_ai_kit: AIKitFactory, fake_openai: FakeOpenAI
) -> None:
    kit = await make_ai_kit(default_monthly_tokens=100, max_tokens=500)
    uid = await new_user(kit)

    with pytest.raises(Exception, match="quota"):
        await kit.ai.chat(uid, ask("Hi"))
    reply = await kit.ai.chat(uid, ask("Hi"), max_tokens=50)

    assert reply.finish_reason == "stop"
    assert [r.body["max_completion_tokens"] for r in fake_openai.chat_requests if r.body] == [50]


async def test_max_tokens_is_capped_and_can_use_the_legacy_parameter(
    make_ai_kit: AIKitFactory, fake_openai: FakeOpenAI
) -> None:
    kit = await make_ai_kit(max_tokens=5, max_tokens_parameter="max_tokens")
    uid = await new_user(kit)

    reply = await kit.ai.chat(uid, ask("Hi"), max_tokens=400)

    (sent,) = fake_openai.chat_requests
    assert sent.body is not None
    assert sent.body["max_tokens"] == 5
    assert "max_completion_tokens" not in sent.body
    assert reply.finish_reason == "length"
    assert reply.usage.completion_tokens == 5


async def test_model_outside_the_allowlist_is_refused(
    ai_client: httpx.AsyncClient, fake_openai: FakeOpenAI
) -> None:
    headers = await auth_headers(ai_client)

    response = await ai_client.post(
        CHAT, json={"messages": ask("Hi"), "model": "gpt-4o"}, headers=headers
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "ai_model_not_allowed"
    assert "gpt-4o-mini" in error["message"]
    assert fake_openai.chat_requests == []


@pytest.mark.parametrize(
    ("status", "code", "http_status"),
    [
        (429, "ai_upstream_rate_limited", 503),
        (500, "ai_upstream_error", 502),
        (503, "ai_upstream_error", 502),
        (400, "ai_upstream_error", 502),
    ],
)
async def test_upstream_errors_are_clear_and_charge_nothing(
    ai_client: httpx.AsyncClient,
    ai_kit: SaaSKit[User],
    fake_openai: FakeOpenAI,
    status: int,
    code: str,
    http_status: int,
) -> None:
    headers = await auth_headers(ai_client)
    fake_openai.fail_next(status, message="secret provider detail sk-abc", retry_after=12)

    response = await ai_client.post(CHAT, json={"messages": ask("Hi")}, headers=headers)

    assert response.status_code == http_status
    error = response.json()["error"]
    assert error["code"] == code
    assert "sk-abc" not in error["message"]
    if status == 429:
        assert response.headers["Retry-After"] == "12"
    assert len(fake_openai.chat_requests) == 1
    uid = await user_id_of(ai_kit)
    assert (await ai_kit.ai.usage(uid)).used_tokens == 0
    assert await ai_kit.ai.meter.counted(uid) == 0


async def test_upstream_timeout_gives_504_and_charges_nothing(
    make_ai_kit: AIKitFactory, fake_openai: FakeOpenAI
) -> None:
    kit = await make_ai_kit(timeout=0.3)
    uid = await new_user(kit)
    fake_openai.delay_next(5)
    async with client_for(kit) as client:
        headers = await auth_headers(client, "bob@example.com")
        bob = await user_id_of(kit, "bob@example.com")
        response = await client.post(CHAT, json={"messages": ask("Hi")}, headers=headers)

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "ai_upstream_timeout"
    assert await kit.ai.meter.counted(bob) == 0
    assert await kit.ai.meter.counted(uid) == 0


async def test_sdk_retries_come_before_the_error(
    make_ai_kit: AIKitFactory, fake_openai: FakeOpenAI
) -> None:
    kit = await make_ai_kit(max_retries=2)
    uid = await new_user(kit)
    fake_openai.fail_next(429, times=2)

    reply = await kit.ai.chat(uid, ask("Hi"))

    assert reply.usage.total_tokens == 8
    assert [r.status for r in fake_openai.chat_requests] == [429, 429, 200]
    assert await kit.ai.meter.counted(uid) == 8


async def test_reply_without_usage_is_charged_an_estimate(
    ai_kit: SaaSKit[User], fake_openai: FakeOpenAI
) -> None:
    fake_openai.report_usage = False
    uid = await new_user(ai_kit)

    reply = await ai_kit.ai.chat(uid, ask("Hi"))

    prompt = estimate_prompt_tokens(ask("Hi"))
    assert reply.usage.prompt_tokens == prompt
    assert reply.usage.completion_tokens >= REPLY_WORDS
    assert (await ai_kit.ai.usage(uid)).used_tokens == reply.usage.total_tokens


async def test_chat_needs_a_logged_in_user_and_a_valid_body(
    ai_client: httpx.AsyncClient, fake_openai: FakeOpenAI
) -> None:
    assert (await ai_client.post(CHAT, json={"messages": ask()})).status_code == 401
    assert (await ai_client.get(USAGE)).status_code == 401
    headers = await auth_headers(ai_client)
    bodies: list[dict[str, Any]] = [
        {"messages": []},
        {"messages": [{"role": "robot", "content": "x"}]},
        {"messages": ask(), "temperature": 2},
        {"messages": ask(), "max_tokens": 0},
    ]
    for body in bodies:
        response = await ai_client.post(CHAT, json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "validation_error"
    assert fake_openai.chat_requests == []


async def test_host_code_uses_kit_ai_and_its_client(
    ai_kit: SaaSKit[User], fake_openai: FakeOpenAI
) -> None:
    uid = await new_user(ai_kit)

    reply = await ai_kit.ai.chat(uid, [{"role": "user", "content": "Summarise this"}])
    models = await ai_kit.ai.client.models.list()

    assert reply.message.content == "Sure thing, here is a short answer"
    assert [m.id for m in models.data] == ["gpt-4o-mini", "gpt-4o"]
    assert str(ai_kit.ai.client.base_url).rstrip("/") == fake_openai.url


async def test_without_ai_settings_there_is_no_router_and_no_provider(
    kit: SaaSKit[User], client: httpx.AsyncClient
) -> None:
    headers = await auth_headers(client)
    assert (await client.post(CHAT, json={"messages": ask()}, headers=headers)).status_code == 404
    uid = await user_id_of(kit)

    with pytest.raises(AINotConfigured):
        await kit.ai.chat(uid, ask())
    # Metering works without a provider (hosts meter their own calls).
    await kit.ai.record_usage(uid, "claude-x", 5, 5)
    assert (await kit.ai.usage(uid)).used_tokens == 10
    assert await kit.store.get(counter_key(uid, kit.ai.meter.current_month())) is None


async def test_missing_openai_package_names_the_extra(
    make_kit: KitFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = await make_kit(ai={"api_key": "sk-x", "base_url": "http://127.0.0.1:9/v1"})
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "openai" else real(name, *a)
    )

    with pytest.raises(MissingExtra, match=r"pip install 'saaskit\[ai\]'"):
        kit.install(FastAPI())
    with pytest.raises(MissingExtra):
        await kit.ai.chat(1, ask())


def test_openapi_documents_the_ai_routes(ai_kit: SaaSKit[User]) -> None:
    app = FastAPI()
    app.include_router(ai_kit.ai_router, prefix="/api/v1/ai")
    paths = app.openapi()["paths"]
    chat = paths["/api/v1/ai/chat"]["post"]
    assert {"200", "401", "422", "429", "502", "503", "504"} <= set(chat["responses"])
    assert "text/event-stream" in chat["responses"]["200"]["content"]
    assert "/api/v1/ai/usage" in paths

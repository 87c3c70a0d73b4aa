"""Reservations bound the worst case: one token per byte of every text the provider reads,
plus framing and the answer's cap, so large or concurrent prompts never pass the quota.

The fake OpenAI counts words, far fewer than real tokenizers on some text, so these tests
check the reservations themselves (recorded from the meter) and the store counter, not
only the usage the fake reports.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import ValidationError

from saaskit import SaaSKit
from saaskit.ai.estimate import estimate_prompt_tokens
from saaskit.ai.gateway import Completion, Message
from saaskit.ai.metering import Reservation, UsageMeter
from saaskit.exceptions import AIQuotaExceeded
from saaskit.models import User
from saaskit.testing import FakeOpenAI
from tests.ai.helpers import AIKitFactory, ask, auth_headers, new_user
from tests.helpers import client_for

CHAT = "/api/v1/ai/chat"
# OpenAI's chat format frames each message with 3 tokens and primes the reply with 3.
OPENAI_PER_MESSAGE = 3
OPENAI_PER_REQUEST = 3


@dataclass
class Recorder:
    """Wraps a kit's meter: every reservation asked for, refused, and the counter after
    each granted one; ``decided`` is set once ``expected`` reservations were decided."""

    meter: UsageMeter
    expected: int = 0
    granted: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    counter_after: list[int] = field(default_factory=list)
    decided: asyncio.Event = field(default_factory=asyncio.Event)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = self.meter.reserve

        async def reserve(user_id: int, tokens: int, *, quota: int | None) -> Reservation:
            try:
                reservation = await original(user_id, tokens, quota=quota)
            except AIQuotaExceeded:
                self.refused.append(tokens)
                self._count()
                raise
            self.granted.append(tokens)
            self.counter_after.append(await self.meter.counted(user_id))
            self._count()
            return reservation

        monkeypatch.setattr(self.meter, "reserve", reserve)

    def _count(self) -> None:
        if len(self.granted) + len(self.refused) == self.expected:
            self.decided.set()


def worst_case(messages: Sequence[dict[str, str]], max_tokens: int) -> int:
    """The least a reservation may be: every byte a token, OpenAI's framing, the answer."""
    text = sum(len(m["role"].encode()) + len(m["content"].encode()) for m in messages)
    return text + OPENAI_PER_MESSAGE * len(messages) + OPENAI_PER_REQUEST + max_tokens


@pytest.mark.parametrize(
    "messages",
    [
        ask("Hi"),
        ask("a " * 5000),
        ask("日本語のテキスト" * 300),  # 3 bytes a character
        ask("🦄🌈" * 400),  # 4 bytes a character
        [
            {"role": "system", "content": "Answer in French. " * 40},
            {"role": "user", "content": "Ünïcødé ünd ßtrings " * 50},
            {"role": "assistant", "content": "D'accord."},
            {"role": "user", "content": "{'json': [1, 2, 3]}\n" * 30},
        ],
    ],
)
async def test_a_chat_reserves_one_token_per_byte_plus_framing_plus_the_answer_cap(
    make_ai_kit: AIKitFactory,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    messages: list[dict[str, str]],
) -> None:
    kit = await make_ai_kit(default_monthly_tokens=None, max_tokens=300)
    uid = await new_user(kit)
    recorder = Recorder(kit.ai.meter)
    recorder.install(monkeypatch)

    await kit.ai.chat(uid, messages)
    async with await kit.ai.stream_chat(uid, messages, max_tokens=40) as stream:
        async for _ in stream:
            pass

    assert recorder.granted[0] >= worst_case(messages, 300)
    assert recorder.granted[1] >= worst_case(messages, 40)
    sent = [r.body["max_completion_tokens"] for r in fake_openai.chat_requests if r.body]
    assert sent == [300, 40]  # the cap that was reserved is the one the provider got


def test_the_estimate_is_a_byte_bound_and_refuses_content_it_cannot_bound() -> None:
    parts: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Describe ünïcødé"},
                {"type": "text", "text": "in detail"},
            ],
        }
    ]
    text_bytes = len("user") + len("Describe ünïcødé".encode()) + len("in detail")
    assert estimate_prompt_tokens(parts) >= text_bytes + OPENAI_PER_MESSAGE + OPENAI_PER_REQUEST

    image: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            ],
        }
    ]
    with pytest.raises(ValueError, match="image_url"):
        estimate_prompt_tokens(image)


async def test_kit_ai_takes_text_content_only(
    ai_kit: SaaSKit[User], fake_openai: FakeOpenAI
) -> None:
    uid = await new_user(ai_kit)
    image: list[Any] = [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
    ]

    with pytest.raises(ValidationError):
        await ai_kit.ai.chat(uid, image)
    with pytest.raises(ValidationError):
        await ai_kit.ai.stream_chat(uid, image)

    assert fake_openai.chat_requests == []
    assert await ai_kit.ai.meter.counted(uid) == 0


async def test_the_issues_290_kb_prompt_is_refused_and_nothing_is_charged(
    make_ai_kit: AIKitFactory, fake_openai: FakeOpenAI
) -> None:
    # 145,000 one-letter words: 290,000 bytes. The old estimate (3 bytes a token) reserved
    # about 97,700 of the 100,000 tokens and let it through; the provider then charged
    # 145 % of the quota (the fake, counting words, charges 145,000).
    kit = await make_ai_kit(default_monthly_tokens=100_000)
    prompt = "a " * 145_000
    async with client_for(kit) as client:
        headers = await auth_headers(client)
        for stream in (False, True):
            response = await client.post(
                CHAT, json={"messages": ask(prompt), "stream": stream}, headers=headers
            )

            assert response.status_code == 429, response.text[:200]
            error = response.json()["error"]
            assert error["code"] == "ai_quota_exceeded"
            assert "whole monthly quota of 100000" in error["message"]
        usage = (await client.get("/api/v1/ai/usage", headers=headers)).json()

    assert fake_openai.chat_requests == []
    assert usage["used_tokens"] == 0
    user = await kit.users.get_by_email("alice@example.com")
    assert user is not None
    assert await kit.ai.meter.counted(user.id) == 0


async def test_a_prompt_larger_than_what_is_left_is_refused_and_told_what_is_left(
    make_ai_kit: AIKitFactory, fake_openai: FakeOpenAI
) -> None:
    kit = await make_ai_kit(default_monthly_tokens=400_000, max_tokens=1000)
    async with client_for(kit) as client:
        headers = await auth_headers(client)
        user = await kit.users.get_by_email("alice@example.com")
        assert user is not None
        await kit.ai.record_usage(user.id, "gpt-4o-mini", 250_000, 0)

        # 200 KB fits the quota but not the 150,000 tokens left (the old estimate,
        # about 67,700, let it through).
        too_big = await client.post(CHAT, json={"messages": ask("a " * 100_000)}, headers=headers)
        assert too_big.status_code == 429
        message = too_big.json()["error"]["message"]
        assert "150000 left" in message
        assert fake_openai.chat_requests == []

        fits = await client.post(CHAT, json={"messages": ask("a " * 70_000)}, headers=headers)
        assert fits.status_code == 200, fits.text[:200]

    assert await kit.ai.meter.counted(user.id) == (await kit.ai.usage(user.id)).used_tokens
    assert (await kit.ai.usage(user.id)).used_tokens <= 400_000


@pytest.mark.parametrize(
    ("chats", "words"),
    [
        (4, 30_000),  # the issue: four 60 KB prompts; the old estimate let all four in (120 %)
        (8, 10_000),  # eight 20 KB prompts: several fit at once
    ],
)
async def test_concurrent_large_prompts_never_take_the_counter_past_the_quota(
    make_ai_kit: AIKitFactory,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    chats: int,
    words: int,
) -> None:
    quota = 100_000
    kit = await make_ai_kit(default_monthly_tokens=quota)
    uid = await new_user(kit)
    recorder = Recorder(kit.ai.meter, expected=chats)
    recorder.install(monkeypatch)
    gateway = kit.ai.gateway
    complete = gateway.complete

    async def held(*, model: str, messages: Sequence[Message], max_tokens: int) -> Completion:
        # Every granted reservation is still held while the others are decided.
        await recorder.decided.wait()
        return await complete(model=model, messages=messages, max_tokens=max_tokens)

    monkeypatch.setattr(gateway, "complete", held)
    prompt = ask("a " * words)

    results = await asyncio.gather(
        *(kit.ai.chat(uid, prompt) for _ in range(chats)), return_exceptions=True
    )

    answered = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, AIQuotaExceeded) for r in refused), refused
    used = (await kit.ai.usage(uid)).used_tokens
    assert used == sum(r.usage.total_tokens for r in answered) <= quota
    assert await kit.ai.meter.counted(uid) == used  # every reservation settled
    assert max(recorder.counter_after) <= quota
    assert sum(recorder.granted) <= quota
    (size,) = set(recorder.granted + recorder.refused)  # the same prompt, the same reservation
    assert size >= worst_case(prompt, 1024)
    assert len(answered) == len(recorder.granted) == min(chats, quota // size)
    assert len(refused) == chats - len(answered) >= 1
    assert len(fake_openai.chat_requests) == len(answered)


async def test_a_provider_counting_more_than_was_reserved_is_charged_with_a_warning(
    make_ai_kit: AIKitFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # Byte-level tokenizers cannot count more than the reservation; a server that counts
    # differently (or an estimate of the host's own that is too small) can. What it
    # reports is charged, so the counter may then pass the quota by the excess: saaskit
    # logs it, and refuses every further call until the quota resets.
    kit = await make_ai_kit(default_monthly_tokens=30, max_tokens=5)
    uid = await new_user(kit)
    kit.ai.estimate_prompt = lambda messages: 1  # far too small, on purpose

    with caplog.at_level(logging.WARNING, logger="saaskit.ai"):
        reply = await kit.ai.chat(uid, ask("one two three four five six seven eight nine ten"))

    assert reply.usage.total_tokens == 15  # ten prompt words, five answer words
    assert "more than the 6 reserved" in caplog.text
    assert await kit.ai.meter.counted(uid) == 15
    async with kit.ai.metered(uid, estimate=10) as call:
        await call.commit("gpt-4o-mini", 20, 0)
    assert await kit.ai.meter.counted(uid) == 35  # past the quota of 30, by the excess
    assert "more than the 10 reserved" in caplog.text
    with pytest.raises(AIQuotaExceeded):
        await kit.ai.chat(uid, ask("Hi"), max_tokens=1)

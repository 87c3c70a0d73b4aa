"""The fake OpenAI server, driven by the real ``openai`` SDK over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from saaskit.testing import FakeOpenAI
from saaskit.testing.fake_openai import count_tokens


@pytest.fixture
async def sdk(fake_openai: FakeOpenAI) -> AsyncIterator[AsyncOpenAI]:
    client = AsyncOpenAI(api_key=fake_openai.api_key, base_url=fake_openai.url, max_retries=0)
    yield client
    await client.close()


async def test_listens_on_loopback_only(fake_openai: FakeOpenAI) -> None:
    assert fake_openai.url.startswith("http://127.0.0.1:")
    assert fake_openai.url.endswith("/v1")


async def test_chat_completion_reports_word_counted_usage(
    sdk: AsyncOpenAI, fake_openai: FakeOpenAI
) -> None:
    response = await sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "Be brief"},
            {"role": "user", "content": "How are you today"},
        ],
    )

    assert response.choices[0].message.content == "Sure thing, here is a short answer"
    assert response.choices[0].finish_reason == "stop"
    assert response.usage is not None
    assert response.usage.prompt_tokens == 6
    assert response.usage.completion_tokens == 7
    assert response.usage.total_tokens == 13
    (request,) = fake_openai.chat_requests
    assert request.authorization == f"Bearer {fake_openai.api_key}"
    assert request.body is not None
    assert request.body["model"] == "gpt-4o-mini"


async def test_echoes_the_last_message_without_a_fixed_reply(sdk: AsyncOpenAI) -> None:
    with FakeOpenAI(api_key=None) as echo:
        client = AsyncOpenAI(api_key="anything", base_url=echo.url, max_retries=0)
        response = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "ping pong"}]
        )
        await client.close()
    assert response.choices[0].message.content == "Echo: ping pong"


async def test_max_tokens_truncates_the_answer(sdk: AsyncOpenAI) -> None:
    hi: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]
    for response in (
        await sdk.chat.completions.create(model="gpt-4o", messages=hi, max_completion_tokens=3),
        await sdk.chat.completions.create(model="gpt-4o", messages=hi, max_tokens=3),
    ):
        assert response.choices[0].message.content == "Sure thing, here"
        assert response.choices[0].finish_reason == "length"
        assert response.usage is not None
        assert response.usage.completion_tokens == 3


async def test_streams_pieces_and_a_final_usage_chunk(sdk: AsyncOpenAI) -> None:
    stream = await sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Hi there"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Sure thing, here is a short answer"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (2, 7)
    assert all(c.usage is None for c in chunks[:-1])


async def test_streams_without_usage_unless_asked(sdk: AsyncOpenAI) -> None:
    stream = await sdk.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    chunks = [chunk async for chunk in stream]
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


async def test_injected_rate_limit_has_openai_error_shape(
    sdk: AsyncOpenAI, fake_openai: FakeOpenAI
) -> None:
    fake_openai.fail_next(429, retry_after=7)

    with pytest.raises(openai.RateLimitError) as caught:
        await sdk.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
        )

    assert caught.value.status_code == 429
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "7"
    # Only the next call failed.
    await sdk.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
    )
    assert [r.status for r in fake_openai.chat_requests] == [429, 200]


async def test_injected_errors_last_for_the_given_number_of_calls(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.fail_next(500, times=2)
    client = AsyncOpenAI(api_key=fake_openai.api_key, base_url=fake_openai.url, max_retries=2)
    try:
        # The SDK retries 5xx: two failures, then the answer.
        response = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
        )
    finally:
        await client.close()
    assert response.choices[0].message.content
    assert [r.status for r in fake_openai.chat_requests] == [500, 500, 200]


async def test_delay_makes_the_sdk_time_out(fake_openai: FakeOpenAI) -> None:
    fake_openai.delay_next(5)
    client = AsyncOpenAI(
        api_key=fake_openai.api_key, base_url=fake_openai.url, max_retries=0, timeout=0.2
    )
    try:
        with pytest.raises(openai.APITimeoutError):
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
            )
    finally:
        await client.close()


async def test_mid_stream_failure_raises_in_the_sdk(
    sdk: AsyncOpenAI, fake_openai: FakeOpenAI
) -> None:
    fake_openai.fail_stream_after(2)
    stream = await sdk.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    pieces: list[str] = []

    async def read() -> None:
        async for chunk in stream:
            pieces.extend(c.delta.content or "" for c in chunk.choices)

    with pytest.raises(openai.APIError):
        await read()
    assert "".join(pieces) == "Sure thing,"


async def test_wrong_key_unknown_model_and_models_list(
    sdk: AsyncOpenAI, fake_openai: FakeOpenAI
) -> None:
    bad = AsyncOpenAI(api_key="sk-wrong", base_url=fake_openai.url, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        await bad.models.list()
    await bad.close()
    with pytest.raises(openai.NotFoundError):
        await sdk.chat.completions.create(
            model="gpt-unknown", messages=[{"role": "user", "content": "Hi"}]
        )
    models = [m.id async for m in sdk.models.list()]
    assert models == ["gpt-4o-mini", "gpt-4o"]


def test_reset_forgets_requests_and_injections(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(500)
    fake_openai.reset()
    assert fake_openai.requests == []
    assert fake_openai._take() is None
    with pytest.raises(ValueError, match="times"):
        fake_openai.fail_next(500, times=0)


def test_url_needs_a_running_server() -> None:
    fake = FakeOpenAI()
    with pytest.raises(RuntimeError, match="start"):
        _ = fake.url
    assert count_tokens("  three little  words ") == 3

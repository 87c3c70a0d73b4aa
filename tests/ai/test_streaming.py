"""Streamed chat: server-sent events, usage from the final chunk, failures, early exits."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from starlette.requests import ClientDisconnect
from starlette.types import Message

from saaskit import SaaSKit
from saaskit.ai.estimate import estimate_prompt_tokens
from saaskit.ai.streaming import ChatStream
from saaskit.exceptions import AIUpstreamError
from saaskit.models import User
from saaskit.testing import FakeOpenAI
from tests.ai.helpers import AIKitFactory, ask, auth_headers, new_user
from tests.helpers import GUARD_SECONDS, build_app, client_for

CHAT = "/api/v1/ai/chat"
REPLY = "Sure thing, here is a short answer"


def events(response: httpx.Response) -> list[Any]:
    """The ``data:`` payloads of an SSE body (``[DONE]`` kept as a string)."""
    assert response.headers["content-type"].startswith("text/event-stream")
    found: list[Any] = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        assert block.startswith("data: "), block
        data = block.removeprefix("data: ")
        found.append(data if data == "[DONE]" else json.loads(data))
    return found


async def test_streamed_chat_sends_events_and_records_usage(
    ai_client: httpx.AsyncClient, ai_kit: SaaSKit[User], fake_openai: FakeOpenAI
) -> None:
    headers = await auth_headers(ai_client)

    response = await ai_client.post(
        CHAT, json={"messages": ask("Tell me more"), "stream": True}, headers=headers
    )

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    received = events(response)
    assert received[-1] == "[DONE]"
    deltas = [e["content"] for e in received if isinstance(e, dict) and e["type"] == "delta"]
    assert "".join(deltas) == REPLY
    assert len(deltas) == 7
    assert received[-2] == {
        "type": "usage",
        "finish_reason": "stop",
        "usage": {"prompt_tokens": 3, "completion_tokens": 7, "total_tokens": 10},
    }
    (sent,) = fake_openai.chat_requests
    assert sent.body is not None
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    usage = (await ai_client.get("/api/v1/ai/usage", headers=headers)).json()
    assert (usage["used_tokens"], usage["requests"]) == (10, 1)


async def test_streamed_call_over_the_quota_gets_a_json_429_and_no_upstream_request(
    make_ai_kit: AIKitFactory, fake_openai: FakeOpenAI
) -> None:
    kit = await make_ai_kit(default_monthly_tokens=10)
    async with client_for(kit) as client:
        headers = await auth_headers(client)
        response = await client.post(
            CHAT, json={"messages": ask(), "stream": True}, headers=headers
        )

    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "ai_quota_exceeded"
    assert fake_openai.chat_requests == []


async def test_upstream_429_before_the_stream_is_a_json_error_and_charges_nothing(
    ai_client: httpx.AsyncClient, ai_kit: SaaSKit[User], fake_openai: FakeOpenAI
) -> None:
    headers = await auth_headers(ai_client)
    fake_openai.fail_next(429)

    response = await ai_client.post(CHAT, json={"messages": ask(), "stream": True}, headers=headers)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "ai_upstream_rate_limited"
    user = await ai_kit.users.get_by_email("alice@example.com")
    assert user is not None
    assert await ai_kit.ai.meter.counted(user.id) == 0


async def test_failure_mid_stream_sends_an_error_event_and_charges_nothing(
    ai_client: httpx.AsyncClient, ai_kit: SaaSKit[User], fake_openai: FakeOpenAI
) -> None:
    headers = await auth_headers(ai_client)
    fake_openai.fail_stream_after(2)

    response = await ai_client.post(CHAT, json={"messages": ask(), "stream": True}, headers=headers)

    received = events(response)
    assert [e["content"] for e in received[:2]] == ["Sure", " thing,"]
    assert received[2]["type"] == "error"
    assert received[2]["error"]["code"] == "ai_upstream_error"
    assert received[3] == "[DONE]"
    user = await ai_kit.users.get_by_email("alice@example.com")
    assert user is not None
    assert await ai_kit.ai.meter.counted(user.id) == 0
    assert (await ai_kit.ai.usage(user.id)).requests == 0


async def test_server_without_usage_chunk_is_charged_an_estimate(
    ai_kit: SaaSKit[User], fake_openai: FakeOpenAI
) -> None:
    fake_openai.report_usage = False
    uid = await new_user(ai_kit)

    async with await ai_kit.ai.stream_chat(uid, ask("Hi")) as stream:
        text = "".join([piece async for piece in stream])

    assert text == REPLY
    assert stream.usage is not None
    assert stream.usage.prompt_tokens == estimate_prompt_tokens(ask("Hi"))
    assert stream.usage.completion_tokens == 7  # one per streamed piece
    assert (await ai_kit.ai.usage(uid)).used_tokens == stream.usage.total_tokens


async def wait_for(condition: Any, within: float = GUARD_SECONDS) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_leaving_a_stream_early_charges_what_was_streamed(
    ai_kit: SaaSKit[User], fake_openai: FakeOpenAI
) -> None:
    fake_openai.chunk_delay = 0.05
    uid = await new_user(ai_kit)

    stream = await ai_kit.ai.stream_chat(uid, ask("Hi"))
    pieces = []
    async for piece in stream:
        pieces.append(piece)
        if len(pieces) == 2:
            break
    await stream.aclose()

    prompt = estimate_prompt_tokens(ask("Hi"))
    assert stream.usage is not None
    assert (stream.usage.prompt_tokens, stream.usage.completion_tokens) == (prompt, 2)
    assert await ai_kit.ai.meter.counted(uid) == prompt + 2
    assert (await ai_kit.ai.usage(uid)).requests == 1
    # Closing told the provider: it saw the connection end mid-stream.
    await wait_for(lambda: fake_openai.aborted_streams == 1)
    await stream.aclose()  # idempotent


async def test_a_stream_iterates_once_and_maps_provider_errors(
    ai_kit: SaaSKit[User], fake_openai: FakeOpenAI
) -> None:
    uid = await new_user(ai_kit)
    fake_openai.fail_stream_after(0)
    stream = await ai_kit.ai.stream_chat(uid, ask("Hi"))
    with pytest.raises(AIUpstreamError):
        async for _ in stream:
            pass
    with pytest.raises(RuntimeError, match="once"):
        stream.__aiter__()
    assert stream.usage is None
    assert await ai_kit.ai.meter.counted(uid) == 0


@pytest.mark.parametrize("spec_version", ["2.0", "2.4"])
async def test_client_disconnect_settles_the_reservation(
    ai_kit: SaaSKit[User], fake_openai: FakeOpenAI, spec_version: str
) -> None:
    """Drive the ASGI app by hand: the client goes away after the first event.

    ASGI < 2.4 servers report it through ``receive`` (the stream is cancelled); 2.4
    servers make ``send`` fail (Starlette raises ``ClientDisconnect``).
    """
    fake_openai.chunk_delay = 0.05
    app = build_app(ai_kit)
    async with client_for(ai_kit, app) as client:
        headers = await auth_headers(client)
    user = await ai_kit.users.get_by_email("alice@example.com")
    assert user is not None

    body = json.dumps({"messages": ask("Hi"), "stream": True}).encode()
    first_event = asyncio.Event()
    sent: list[Message] = []
    request_sent = False

    async def receive() -> Message:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await first_event.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if spec_version == "2.4" and first_event.is_set():
            raise OSError("the client went away")
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_event.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": CHAT,
        "raw_path": CHAT.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"test"),
            (b"content-type", b"application/json"),
            (b"authorization", headers["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
    }
    if spec_version == "2.4":
        with pytest.raises(ClientDisconnect):
            await app(scope, receive, send)
    else:
        await app(scope, receive, send)

    assert sent[0]["status"] == 200
    streamed = [m for m in sent if m["type"] == "http.response.body" and m.get("body")]
    assert len(streamed) < 8  # it stopped early
    counted = await ai_kit.ai.meter.counted(user.id)
    prompt = estimate_prompt_tokens(ask("Hi"))
    # Charged per piece the server produced (with 2.4 the last one failed to send).
    assert prompt + 1 <= counted <= prompt + len(streamed) + 1
    assert (await ai_kit.ai.usage(user.id)).used_tokens == counted
    await wait_for(lambda: fake_openai.aborted_streams == 1)


async def test_stream_is_a_chat_stream(ai_kit: SaaSKit[User]) -> None:
    uid = await new_user(ai_kit)
    stream = await ai_kit.ai.stream_chat(uid, ask("Hi"))
    assert isinstance(stream, ChatStream)
    assert stream.model == "gpt-4o-mini"
    async with stream:
        pieces = [p async for p in stream]
    assert pieces[0] == "Sure"
    assert stream.finish_reason == "stop"
    assert stream.settled

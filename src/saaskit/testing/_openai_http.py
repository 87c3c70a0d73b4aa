"""HTTP for the fake OpenAI server: JSON in, OpenAI-shaped JSON or SSE out."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from saaskit.testing.fake_openai import FakeOpenAI

_ERROR_TYPES = {429: "requests", 500: "server_error", 502: "server_error", 503: "server_error"}
_ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


def count_tokens(text: str) -> int:
    """The fake's tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def text_of(content: Any) -> str:
    """The text of a message's ``content`` (a string or a list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def prompt_tokens(body: dict[str, Any]) -> int:
    """The fake's count of a request's prompt: the words of every message."""
    return sum(count_tokens(text_of(m.get("content"))) for m in body.get("messages") or [])


def error_body(status: int, message: str) -> dict[str, Any]:
    """OpenAI's error envelope."""
    return {
        "error": {
            "message": message,
            "type": _ERROR_TYPES.get(status, "invalid_request_error"),
            "param": None,
            "code": _ERROR_CODES.get(status),
        }
    }


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received (``status`` is what it answered)."""

    method: str
    path: str
    body: dict[str, Any] | None
    authorization: str | None
    status: int


@dataclass
class Injection:
    """A behaviour for the next ``times`` chat calls."""

    kind: str  # "error", "delay" or "stream_error"
    times: int
    status: int = 500
    message: str = ""
    retry_after: float | None = None
    seconds: float = 0.0
    after_chunks: int = 0


class _ClientGone(Exception):
    """The client closed the connection while the fake was answering."""


class OpenAIRequestHandler(BaseHTTPRequestHandler):
    """One connection to the fake; ``server.fake`` is the :class:`FakeOpenAI`."""

    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections end, so their threads do too

    @property
    def fake(self) -> FakeOpenAI:
        fake: FakeOpenAI = self.server.fake  # type: ignore[attr-defined]
        return fake

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read :attr:`FakeOpenAI.requests` instead of a log."""

    def do_GET(self) -> None:
        self._guarded(self._get)

    def do_POST(self) -> None:
        self._guarded(self._post)

    def _guarded(self, handle: Any) -> None:
        try:
            handle()
        except (_ClientGone, BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- routes ----------------------------------------------------------------------

    def _get(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        status = self._check_auth()
        if status == 200 and path != "/v1/models":
            status = 404
        self._log(None, status)
        if status == 401:
            self._send_error(401, "Incorrect API key provided.")
        elif status == 404:
            self._send_error(404, "Unknown path.")
        else:
            models = [
                {"id": m, "object": "model", "created": 0, "owned_by": "saaskit-fake"}
                for m in self.fake.models
            ]
            self._send_json(200, {"object": "list", "data": models})

    def _post(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:  # the client went away mid-body: act on nothing
            self.close_connection = True
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        status = self._check_auth()
        if status == 200 and path != "/v1/chat/completions":
            status = 404
        if status == 200 and not (isinstance(body, dict) and body.get("messages")):
            status = 400
        if status != 200:
            self._log(body if isinstance(body, dict) else None, status)
            self._send_error(
                status,
                {401: "Incorrect API key provided.", 404: "Unknown path."}.get(
                    status, "`messages` is required."
                ),
            )
            return
        assert isinstance(body, dict)
        self._chat(body)

    def _chat(self, body: dict[str, Any]) -> None:
        fake = self.fake
        if not fake._wait_if_held():
            return  # the fake is stopping
        injection = fake._take()
        delayed = injection is not None and injection.kind == "delay"
        if delayed and fake._stopping.wait(injection.seconds if injection else 0):
            return  # the fake is stopping
        if injection is not None and injection.kind == "error":
            self._log(body, injection.status)
            self._send_error(injection.status, injection.message, injection.retry_after)
            return
        if body.get("model") not in fake.models:
            self._log(body, 404)
            self._send_error(404, "The model does not exist or you do not have access to it.")
            return
        self._log(body, 200)
        words, finish = fake.answer_for(body)
        usage = {
            "prompt_tokens": prompt_tokens(body),
            "completion_tokens": len(words),
            "total_tokens": prompt_tokens(body) + len(words),
        }
        ident = f"chatcmpl-fake{len(fake.requests)}"
        if body.get("stream"):
            break_after = (
                injection.after_chunks if injection and injection.kind == "stream_error" else None
            )
            self._stream(body, ident, words, finish, usage, break_after)
            return
        self._send_json(
            200,
            {
                "id": ident,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": " ".join(words)},
                        "finish_reason": finish,
                        "logprobs": None,
                    }
                ],
                "usage": usage if fake.report_usage else None,
            },
        )

    def _stream(
        self,
        body: dict[str, Any],
        ident: str,
        words: list[str],
        finish: str,
        usage: dict[str, int],
        break_after: int | None,
    ) -> None:
        fake = self.fake
        options = body.get("stream_options") or {}
        with_usage = bool(options.get("include_usage")) and fake.report_usage
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            data: dict[str, Any] = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
            if with_usage:
                data["usage"] = None
            return data

        try:
            self._event(chunk({"role": "assistant", "content": ""}))
            for index, word in enumerate(words):
                if break_after is not None and index >= break_after:
                    self._event(error_body(500, "Injected mid-stream failure."))
                    self._end_chunks()
                    return
                if fake.chunk_delay and fake._stopping.wait(fake.chunk_delay):
                    return
                self._event(chunk({"content": word if index == 0 else " " + word}))
            self._event(chunk({}, finish))
            if with_usage:
                self._event({**chunk({}), "choices": [], "usage": usage})
            self._send_chunk(b"data: [DONE]\n\n")
            self._end_chunks()
        except (_ClientGone, BrokenPipeError, ConnectionResetError):
            with fake._lock:
                fake.aborted_streams += 1
            raise _ClientGone() from None

    # -- writing ---------------------------------------------------------------------

    def _check_auth(self) -> int:
        expected = self.fake.api_key
        if expected is None:
            return 200
        return 200 if self.headers.get("Authorization") == f"Bearer {expected}" else 401

    def _log(self, body: dict[str, Any] | None, status: int) -> None:
        self.fake._record(
            RecordedRequest(
                method=self.command,
                path=self.path.split("?")[0].rstrip("/"),
                body=body,
                authorization=self.headers.get("Authorization"),
                status=status,
            )
        )

    def _send_json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_fake_{len(self.fake.requests)}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error(self, status: int, message: str, retry_after: float | None = None) -> None:
        headers = {}
        if retry_after is not None:
            headers["retry-after-ms"] = str(math.ceil(retry_after * 1000))
            headers["retry-after"] = str(math.ceil(retry_after))
        self._send_json(status, error_body(status, message), headers)

    def _event(self, payload: dict[str, Any]) -> None:
        self._send_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _send_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

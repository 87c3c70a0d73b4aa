"""A fake OpenAI-compatible API on 127.0.0.1, for saaskit's tests and the host's.

The real ``openai`` SDK talks to it over HTTP (nothing is mocked): ``POST
/v1/chat/completions`` answers with ``usage``, or streams server-sent events ending
with a usage chunk when ``stream_options.include_usage`` is set, and ``GET /v1/models``
lists its models. Token counts are deterministic: one token per whitespace-separated
word. Errors are OpenAI-shaped (``{"error": {"message", "type", "code", "param"}}``) and
injected for the next calls with :meth:`FakeOpenAI.fail_next`,
:meth:`FakeOpenAI.delay_next` and :meth:`FakeOpenAI.fail_stream_after`; every request
is logged in :attr:`FakeOpenAI.requests`, so a test can assert that none was made.

Example:
    ```python
    from saaskit.testing.fake_openai import FakeOpenAI

    with FakeOpenAI(reply="Hello there") as fake:
        kit = SaaSKit(SaaSKitSettings(ai=fake.ai_settings()))
        reply = await kit.ai.chat(user.id, [{"role": "user", "content": "Hi"}])
        assert reply.usage.completion_tokens == 2
        fake.fail_next(429)  # the next call is rate limited
    ```
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from saaskit.testing._openai_http import (
    Injection,
    OpenAIRequestHandler,
    RecordedRequest,
    count_tokens,
    text_of,
)
from saaskit.testing._server import FakeHTTPServer
from saaskit.testing.holding import Holding

DEFAULT_API_KEY = "sk-test-saaskit-fake-openai"
DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o")


class _Server(FakeHTTPServer):
    fake: FakeOpenAI


class FakeOpenAI(Holding):
    """A fake OpenAI server; ``start()``/``stop()`` or use it as a context manager.

    Args:
        api_key: the key clients must send (``Authorization: Bearer``); ``None``
            accepts any.
        models: model ids it serves (others get 404 ``model_not_found``).
        reply: the answer to every chat (default: ``"Echo: "`` + the last message).
    """

    def __init__(
        self,
        *,
        api_key: str | None = DEFAULT_API_KEY,
        models: Sequence[str] = DEFAULT_MODELS,
        reply: str | None = None,
    ) -> None:
        self.api_key = api_key
        self.models = list(models)
        self.reply = reply
        self.report_usage = True
        """Set False to imitate servers that send no ``usage`` (nor a usage chunk)."""
        self.chunk_delay = 0.0
        """Seconds between streamed chunks (to test clients that leave mid-stream)."""
        self.requests: list[RecordedRequest] = []
        self.aborted_streams = 0
        """Streams the client closed before the end."""
        self._injections: list[Injection] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._init_holding()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL to give the SDK (``http://127.0.0.1:PORT/v1``)."""
        if self._server is None:
            raise RuntimeError("the fake OpenAI server is not running; call start()")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        """Listen on a random port of 127.0.0.1 in a background thread."""
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(("127.0.0.1", 0), OpenAIRequestHandler)
            self._server.fake = self
            server = self._server
            self._thread = threading.Thread(
                target=lambda: server.serve_forever(poll_interval=0.05),
                name="fake-openai",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; held and delayed calls give up."""
        self._stopping.set()  # wakes delayed responses
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def ai_settings(self, **overrides: Any) -> dict[str, Any]:
        """``ai`` settings that point saaskit at this fake (no retries, short timeout)."""
        return {
            "api_key": self.api_key or "unused",
            "base_url": self.url,
            "max_retries": 0,
            "timeout": 5.0,
            **overrides,
        }

    # -- control -------------------------------------------------------------------

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The chat completion requests received so far."""
        return [r for r in self.requests if r.path == "/v1/chat/completions"]

    def fail_next(
        self,
        status: int = 429,
        *,
        times: int = 1,
        message: str | None = None,
        retry_after: float | None = 0.001,
    ) -> None:
        """Answer the next ``times`` chat calls with an OpenAI error of ``status``.

        ``retry_after`` (seconds) goes out as ``retry-after-ms`` / ``retry-after``;
        the SDK waits that long before a retry (``None``: no header, its own backoff).
        """
        text = message or f"Injected error {status} from the fake OpenAI server."
        self._inject(
            Injection("error", times, status=status, message=text, retry_after=retry_after)
        )

    def delay_next(self, seconds: float, *, times: int = 1) -> None:
        """Wait ``seconds`` before answering the next ``times`` chat calls (timeouts)."""
        self._inject(Injection("delay", times, seconds=seconds))

    def fail_stream_after(self, chunks: int, *, times: int = 1) -> None:
        """Break the next ``times`` streams with an error event after ``chunks`` pieces."""
        self._inject(
            Injection(
                "stream_error", times, after_chunks=chunks, message="Injected mid-stream failure."
            )
        )

    def reset(self) -> None:
        """Forget requests and pending injections."""
        with self._lock:
            self.requests.clear()
            self._injections.clear()
            self.aborted_streams = 0

    def _inject(self, injection: Injection) -> None:
        if injection.times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._injections.append(injection)

    def _take(self) -> Injection | None:
        with self._lock:
            if not self._injections:
                return None
            injection = self._injections[0]
            injection.times -= 1
            if injection.times == 0:
                self._injections.pop(0)
            return injection

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    # -- answers -------------------------------------------------------------------

    def answer_for(self, body: dict[str, Any]) -> tuple[list[str], str]:
        """The words of the reply to ``body`` and its finish reason."""
        messages = body.get("messages") or []
        last = text_of(messages[-1].get("content")) if messages else ""
        words = (self.reply if self.reply is not None else f"Echo: {last}").split()
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(limit, int) and len(words) > limit:
            return words[:limit], "length"
        return words, "stop"


__all__ = ["DEFAULT_API_KEY", "DEFAULT_MODELS", "FakeOpenAI", "RecordedRequest", "count_tokens"]

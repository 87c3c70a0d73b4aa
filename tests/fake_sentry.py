"""A local stand-in for Sentry's ingestion endpoint: it records every envelope sent to
``http://public@127.0.0.1:PORT/1`` (the DSN the SDK is given), so a test can read what
would have left the machine, byte for byte."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Envelope:
    raw: bytes
    items: list[tuple[dict[str, Any], bytes]] = field(default_factory=list)

    def events(self) -> list[dict[str, Any]]:
        """The error events (item type ``event``) of this envelope."""
        return [json.loads(body) for header, body in self.items if header.get("type") == "event"]


def parse_envelope(raw: bytes) -> Envelope:
    """Split an envelope: a header line, then per item a header line and its payload
    (``length`` bytes, or up to the next newline)."""
    envelope = Envelope(raw)
    position = raw.find(b"\n") + 1  # after the envelope header
    while 0 < position < len(raw):
        end = raw.find(b"\n", position)
        end = len(raw) if end < 0 else end
        line = raw[position:end].strip()
        position = end + 1
        if not line:
            continue
        header = json.loads(line)
        length = header.get("length")
        if length is None:
            stop = raw.find(b"\n", position)
            stop = len(raw) if stop < 0 else stop
        else:
            stop = position + int(length)
        envelope.items.append((header, raw[position:stop]))
        position = stop + 1
    return envelope


class FakeSentry:
    """Collects envelopes; ``dsn`` points the SDK at it."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self._lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                with collector._lock:
                    collector.envelopes.append(parse_envelope(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.dsn = f"http://publickey@127.0.0.1:{self.port}/1"

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [event for envelope in self.envelopes for event in envelope.events()]

    def raw(self) -> bytes:
        with self._lock:
            return b"\n".join(envelope.raw for envelope in self.envelopes)


@contextmanager
def fake_sentry() -> Iterator[FakeSentry]:
    server = FakeSentry()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
        thread.join(timeout=10)

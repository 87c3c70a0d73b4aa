"""The HTTP server under the fake servers (Stripe, OpenAI, OAuth provider)."""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any

from typing_extensions import override

CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class FakeHTTPServer(ThreadingHTTPServer):
    """A threading server that stops without waiting and keeps quiet when a client leaves.

    A client that hangs up before its answer is written (a test ended, a timeout) is
    normal for a fake: it is not printed. Printing it costs more than noise on Python
    3.11 before 3.11.8: formatting a traceback parses source with :mod:`ast`, and two
    threads doing that at once can raise ``SystemError: AST constructor recursion depth
    mismatch`` in the other thread (CPython gh-106905).
    """

    daemon_threads = True
    block_on_close = False

    @override
    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], CLIENT_GONE):
            return
        super().handle_error(request, client_address)

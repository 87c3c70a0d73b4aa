"""Run the browser example: saaskit's API on one port, the static page on another.

    python examples/frontend/server.py                 # API :8000, page :8001
    python examples/frontend/server.py --api-port 9000 --page-port 9001

The API is a kit with saaskit's default models, configured by ``SAASKIT_*`` variables
and ``.env`` as usual (billing too: ``SAASKIT_BILLING__ENABLED`` and friends). The page
is served by a tiny static server from another origin, so the browser needs CORS: unless
set, ``cors.origins``, ``email.frontend_url`` and ``billing.portal_return_url`` default
to the page's address, and ``oauth.callback_base_url`` to the API's (set
``SAASKIT_OAUTH__PROVIDERS`` for "Sign in with ..." buttons). Open the URL printed at startup.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from fastapi import FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.features import read_section
from saaskit.oauth import OAuthSettings

PAGE_DIR = Path(__file__).resolve().parent
PAGE_FILES = {"/app.js", "/style.css"}  # any other path is the page itself
HOST = "127.0.0.1"

logger = logging.getLogger("frontend")


def create_app(settings: SaaSKitSettings) -> FastAPI:
    """The API: every saaskit router, with CORS for ``settings.cors.origins``."""
    kit = SaaSKit(settings)
    app = FastAPI(title="saaskit browser example", lifespan=kit.lifespan)
    kit.install(app)
    return app


def with_page_defaults(settings: SaaSKitSettings, page_origin: str, page_url: str) -> None:
    """Point what the environment left unset at the page (set values are kept)."""
    if not settings.cors.origins:
        settings.cors.origins = [page_origin]
    if "frontend_url" not in settings.email.model_fields_set:
        settings.email.frontend_url = page_origin  # Checkout's default return URLs
    if "portal_return_url" not in settings.billing.model_fields_set:
        settings.billing.portal_return_url = page_url


class PageHandler(SimpleHTTPRequestHandler):
    """Serves index.html, app.js and style.css of this folder, nothing else.

    Every other path gets index.html, so return URLs such as ``/billing`` land on the page.
    """

    api_origin = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, directory=str(PAGE_DIR), **kwargs)

    def send_head(self) -> Any:
        if urlsplit(self.path).path not in PAGE_FILES:
            self.path = "/index.html"
        return super().send_head()

    def end_headers(self) -> None:
        # Scripts only from this origin, fetch only to it and the API: an injected
        # script could not load or send tokens anywhere else.
        policy = (
            # img-src data: for the 2FA QR code (an SVG in an <img> runs no script).
            f"default-src 'self'; connect-src 'self' {self.api_origin}; base-uri 'none'; "
            "img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'; object-src 'none'"
        )
        self.send_header("Content-Security-Policy", policy)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("page: " + format, *args)


def serve_page(port: int, api_origin: str) -> ThreadingHTTPServer:
    """Start the static page server in a daemon thread."""
    handler = type("Handler", (PageHandler,), {"api_origin": api_origin})
    server = ThreadingHTTPServer((HOST, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--page-port", type=int, default=8001)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)

    api_origin = f"http://{HOST}:{args.api_port}"
    page_origin = f"http://{HOST}:{args.page_port}"
    # "Sign in with ..." (SAASKIT_OAUTH__PROVIDERS): providers call back to this API.
    os.environ.setdefault("SAASKIT_OAUTH__CALLBACK_BASE_URL", api_origin)
    settings = SaaSKitSettings()
    page_url = f"{page_origin}/?api={api_origin}{settings.api_prefix}"
    if read_section(settings, "oauth", OAuthSettings).enabled:
        page_url += "&oauth=1"  # the page shows a "Sign in with ..." button per provider
    with_page_defaults(settings, page_origin, page_url)

    page = serve_page(args.page_port, api_origin)
    print(f"API on {api_origin}, CORS origins {settings.cors.origins}")
    print(f"open {page_url}", flush=True)
    try:
        uvicorn.run(create_app(settings), host=HOST, port=args.api_port, log_level=args.log_level)
    finally:
        page.shutdown()


if __name__ == "__main__":
    main()

"""The HTTP client the Stripe SDK uses inside saaskit: async httpx, one pool per gateway.

The SDK's own ``HTTPXClient`` hands form bodies to httpx as ``data=str``, which httpx
0.28 deprecates (a warning per call, an error where warnings are errors), so saaskit
plugs this small client into the SDK's documented ``HTTPClient`` extension point instead.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from saaskit.exceptions import require_module

if TYPE_CHECKING:
    import stripe


def build_http_client(timeout: float) -> stripe.HTTPClient:
    """An async-only SDK HTTP client on httpx with ``timeout`` seconds per request."""
    require_module("stripe", "stripe")
    require_module("httpx", "stripe")
    import httpx
    import stripe

    class AsyncHttpxClient(stripe.HTTPClient):
        name = "httpx"

        def __init__(self) -> None:
            super().__init__()
            verify = ssl.create_default_context(cafile=stripe.ca_bundle_path)
            self._client = httpx.AsyncClient(timeout=timeout, verify=verify)

        async def request_async(
            self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
        ) -> tuple[bytes, int, Mapping[str, str]]:
            try:
                response = await self._client.request(
                    method, url, headers=dict(headers), content=post_data or None
                )
            except httpx.HTTPError as error:
                # Stripe's retry logic reads should_retry; network errors are retryable.
                raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                    f"network error talking to Stripe: {type(error).__name__}",
                    should_retry=True,
                ) from error
            return response.content, response.status_code, response.headers

        def sleep_async(self, secs: float) -> Awaitable[None]:
            return asyncio.sleep(secs)

        async def close_async(self) -> None:
            await self._client.aclose()

    return AsyncHttpxClient()

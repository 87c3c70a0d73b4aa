"""Call the example's host route with an API key, as a customer's script would.

    export REPORTS_API_KEY=sk_test_...   # from POST /api/v1/api-keys (shown once)
    python call_with_key.py http://127.0.0.1:8000

The key goes in a header (`Authorization: Bearer` here; `X-API-Key` works too), never in
the URL: URLs end up in access logs and browser histories.
"""

import os
import sys
from typing import Any

import httpx


def fetch_reports(client: httpx.Client, key: str) -> Any:
    """GET /api/v1/reports with the key; raises on 401 (bad key), 403 (scope), 429 (limit)."""
    response = client.get("/api/v1/reports", headers={"Authorization": f"Bearer {key}"})
    if response.status_code == 429:
        raise SystemExit(f"rate limited; retry in {response.headers.get('Retry-After')} s")
    response.raise_for_status()
    return response.json()


def main() -> None:
    base_url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    key = os.environ["REPORTS_API_KEY"]
    with httpx.Client(base_url=base_url, timeout=10) as client:
        print(fetch_reports(client, key))


if __name__ == "__main__":
    main()

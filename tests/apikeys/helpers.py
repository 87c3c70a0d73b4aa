"""Shared helpers of the API key tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.secret_scan import REGISTRY

KEYS = "/api/v1/api-keys"


async def new_key(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    scopes: list[str] | None = None,
    *,
    org_id: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Create a key through the API; its secret is remembered by the log scan."""
    url = KEYS if org_id is None else f"{KEYS}/orgs/{org_id}"
    body = {"name": "ci", "scopes": scopes or [], **extra}
    created = await client.post(url, json=body, headers=headers)
    assert created.status_code == 201, created.text
    data: dict[str, Any] = created.json()
    REGISTRY.add("API key", data["key"])
    return data


def key_header(key: str) -> dict[str, str]:
    return {"X-API-Key": key}

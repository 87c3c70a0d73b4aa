"""The example of docs/errors.md, "In the OpenAPI document", documents what it says."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.docs.helpers import SNIPPETS, load_path


async def test_the_documented_route_lists_each_error_it_can_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SAASKIT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    module = load_path(SNIPPETS / "openapi_errors.py", monkeypatch)
    try:
        responses = module.app.openapi()["paths"]["/invoices/{invoice_id}"]["get"]["responses"]
        assert set(responses) == {"200", "401", "404", "422", "429"}
        for status in ("401", "404", "422", "429"):
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
        transport = httpx.ASGITransport(app=module.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            anonymous = await client.get("/invoices/1", headers={"x-exports-today": "100"})
        assert anonymous.status_code == 429  # the dependency runs first, and is documented
        assert anonymous.json()["error"]["code"] == "rate_limited"
    finally:
        await module.kit.aclose()

"""The Tasks page's host task (``docs/snippets/tasks_app.py``) does what the page says."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from saaskit.email import MemorySender
from tests.docs.helpers import SNIPPETS, load_path
from tests.helpers import PASSWORD


async def test_the_welcome_task_runs_after_registration(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    monkeypatch.delenv("SAASKIT_REDIS_URL", raising=False)
    monkeypatch.delenv("SAASKIT_TASKS__BACKEND", raising=False)
    monkeypatch.setenv("SAASKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("SAASKIT_SECRET_KEY", "docs-test-secret-key-0123456789abcdefghij")
    monkeypatch.setenv("SAASKIT_AUTH__BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("SAASKIT_AUTH__SEND_VERIFICATION_ON_REGISTER", "false")
    module = load_path(SNIPPETS / "tasks_app.py", monkeypatch)
    outbox = MemorySender()
    module.kit.mailer.sender = outbox
    transport = httpx.ASGITransport(app=module.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post(
                "/api/v1/auth/register",
                json={"email": "ada@example.com", "password": PASSWORD, "full_name": "Ada"},
            )
            assert response.status_code == 201
        await module.kit.runner.drain()
    finally:
        await module.kit.aclose()

    [email] = outbox.outbox
    assert email.to == "ada@example.com"
    assert "Ada" in (email.text or "")

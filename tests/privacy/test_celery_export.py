"""A data export built by a real Celery worker (``saaskit worker``) and emailed over SMTP."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.tasks.celery import CeleryRunner
from tests.email.helpers import Delivered
from tests.helpers import TEST_REDIS_URL, bearer, login, register
from tests.ports import free_port
from tests.privacy.helpers import read_zip
from tests.tasks.celery_support import running_worker, smtp_server, wait_for, write_host_app

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not TEST_REDIS_URL, reason="the Celery end-to-end tests need Redis (SAASKIT_TEST_REDIS_URL)"
    ),
]

LINK = re.compile(r"https://app\.acme\.test/account/export\?export=[^\s\"<>]+")


def export_id(delivered: list[Delivered], to: str) -> str | None:
    for message in delivered:
        if to in message.rcpt_tos:
            match = LINK.search(message.part("text/plain"))
            if match:
                return parse_qs(urlsplit(match.group()).query)["export"][0]
    return None


async def test_the_worker_builds_the_export_and_the_app_serves_it(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert TEST_REDIS_URL
    port = free_port()
    app = write_host_app(
        tmp_path,
        database_url=database_url,
        redis_url=TEST_REDIS_URL,
        smtp_port=port,
        verify_on_register=False,
    )
    module_file = tmp_path / f"{app.module}.py"
    source = module_file.read_text("utf-8")
    storage = tmp_path / "exports"
    source = source.replace(
        "kit = SaaSKit(",
        "from saaskit.privacy import PrivacyFeature, PrivacySettings\n\n"
        "kit = SaaSKit(features=[PrivacyFeature(PrivacySettings(enabled=True, "
        f"storage_dir={str(storage)!r}))], settings=",
    )
    module_file.write_text(source, "utf-8")
    with smtp_server(port) as smtp, running_worker(tmp_path, app, "--pool", "solo") as worker:
        monkeypatch.syspath_prepend(str(tmp_path))
        module = importlib.import_module(app.module)
        kit: SaaSKit[Any] = module.kit
        assert isinstance(kit.runner, CeleryRunner)
        transport = httpx.ASGITransport(app=module.app, raise_app_exceptions=False)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                assert (await register(client, "alice@example.com")).status_code == 201
                headers = bearer((await login(client, "alice@example.com"))["access_token"])
                requested = await client.post("/api/v1/privacy/exports", headers=headers)
                assert requested.status_code == 202, requested.text
                found = await wait_for(
                    lambda: export_id(smtp.delivered, "alice@example.com"),
                    what="export email",
                    worker=worker,
                    seconds=60,
                )
                assert found == requested.json()["id"]
                download = await client.get(
                    f"/api/v1/privacy/exports/{found}/download", headers=headers
                )
                assert download.status_code == 200, download.text
                files = read_zip(download.content)
                assert files["profile.json"][0]["email"] == "alice@example.com"
                assert [e["action"] for e in files["audit_events.json"]][:2] == [
                    "register",
                    "login",
                ]
        finally:
            await kit.aclose()
            sys.modules.pop(app.module, None)

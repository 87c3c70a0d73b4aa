"""Fixtures of the organization tests: a kit whose emails land in a memory outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.email.memory import MemorySender
from tests.helpers import build_app, make_settings, new_store


@pytest.fixture
async def kit(database_url: str) -> AsyncIterator[SaaSKit[Any]]:
    kit: SaaSKit[Any] = SaaSKit(
        make_settings(database_url), store=new_store(), email_sender=MemorySender()
    )
    yield kit
    await kit.aclose()


@pytest.fixture
async def client(kit: SaaSKit[Any]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c

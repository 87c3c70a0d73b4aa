"""Fixtures of the 2FA tests: a kit whose 2FA clock the tests move."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.email.memory import MemorySender
from saaskit.mfa.schemas import MfaSettings
from saaskit.mfa.wiring import MfaFeature
from tests.helpers import build_app, make_settings, new_store
from tests.mfa.helpers import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(database_url: str, clock: Clock, **mfa: Any) -> SaaSKit[Any]:
    """A kit whose 2FA settings are ``mfa`` (on, by default) and clock is ``clock``."""
    kit: SaaSKit[Any] = SaaSKit(
        make_settings(database_url),
        store=new_store(),
        email_sender=MemorySender(),
        features=[MfaFeature(MfaSettings(**mfa))],
    )
    if kit.features.enabled(kit.settings, "mfa"):
        kit.mfa.clock = clock
    return kit


@pytest.fixture
async def kit(database_url: str, clock: Clock) -> AsyncIterator[SaaSKit[Any]]:
    kit = make(database_url, clock)
    yield kit
    await kit.aclose()


@pytest.fixture
async def client(kit: SaaSKit[Any]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c

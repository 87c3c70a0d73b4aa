"""Fixtures of the passkey tests: a kit with passkeys on, its client, a soft authenticator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.helpers import client_for
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.helpers import ORIGIN, World, make


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    kit = make(database_url)
    async with client_for(kit) as client:
        yield World(kit, client, SoftAuthenticator(ORIGIN))
    await kit.aclose()

"""Fixtures of the privacy tests: a world (kit, client, clock, outbox, hook)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from tests.privacy.helpers import Clock, HookLog, World, client_for_kit, make_world_kit


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    clock, hook = Clock(), HookLog()
    storage = tmp_path / "exports"
    kit, sender = make_world_kit(database_url, storage, clock, hook)
    async with client_for_kit(kit) as client:
        yield World(kit, client, clock, sender, hook, storage)
    await kit.aclose()

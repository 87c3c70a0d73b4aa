"""The fake OpenAI server and kits pointed at it (the real ``openai`` SDK over HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.models import User
from saaskit.testing import FakeOpenAI
from saaskit.testing.openai_pytest import fake_openai  # noqa: F401 - a fixture
from tests.ai.helpers import REPLY, AIKitFactory
from tests.helpers import KitFactory, client_for


@pytest.fixture(autouse=True)
def fixed_reply(fake_openai: FakeOpenAI) -> None:  # noqa: F811 - the imported fixture
    """Every test's fake answers the same seven words (seven completion tokens)."""
    fake_openai.reply = REPLY


@pytest.fixture
async def make_ai_kit(
    make_kit: KitFactory,
    fake_openai: FakeOpenAI,  # noqa: F811 - the imported fixture
) -> AIKitFactory:
    """``await make_ai_kit(default_monthly_tokens=..., ...)``: a kit on the fake."""

    async def factory(**ai: Any) -> SaaSKit[User]:
        return await make_kit(ai=fake_openai.ai_settings(**ai))

    return factory


@pytest.fixture
async def ai_kit(make_ai_kit: AIKitFactory) -> SaaSKit[User]:
    return await make_ai_kit()


@pytest.fixture
async def ai_client(ai_kit: SaaSKit[User]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(ai_kit) as client:
        yield client

"""A pytest fixture for the fake OpenAI server.

In a host app's ``conftest.py``::

    from saaskit.testing.openai_pytest import fake_openai  # noqa: F401 (a fixture)

    async def test_summary(fake_openai):
        fake_openai.reply = "A short summary"
        settings = SaaSKitSettings(ai=fake_openai.ai_settings())
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from saaskit.testing.fake_openai import FakeOpenAI


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fresh fake OpenAI server on 127.0.0.1 for one test."""
    with FakeOpenAI() as fake:
        yield fake

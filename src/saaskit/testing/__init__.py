"""Helpers for testing saaskit and host apps built on it: fake external services, users
and tokens. The pytest fixtures are in :mod:`saaskit.testing.plugin`."""

from saaskit.testing.factories import (
    TEST_PASSWORD,
    HeadersFactory,
    UserFactory,
    UserMaker,
    bearer_headers,
)
from saaskit.testing.fake_openai import FakeOpenAI
from saaskit.testing.fake_stripe import FakeStripe

__all__ = [
    "TEST_PASSWORD",
    "FakeOpenAI",
    "FakeStripe",
    "HeadersFactory",
    "UserFactory",
    "UserMaker",
    "bearer_headers",
]

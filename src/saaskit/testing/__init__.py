"""Helpers for testing saaskit and host apps built on it (fake external services)."""

from saaskit.testing.fake_openai import FakeOpenAI
from saaskit.testing.fake_stripe import FakeStripe

__all__ = ["FakeOpenAI", "FakeStripe"]

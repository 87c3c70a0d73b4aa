"""Helpers for testing saaskit and host apps built on it: fake services, users and tokens.

The pytest fixtures are in :mod:`saaskit.testing.plugin`.

The names are imported on first access: pytest loads the plugin (a module of this
package) before it starts anything else, coverage measurement included, so importing
this package must not import the kit.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from saaskit.testing.factories import (
        TEST_PASSWORD,
        HeadersFactory,
        UserFactory,
        UserMaker,
        bearer_headers,
    )
    from saaskit.testing.fake_oauth import FakeOAuthProvider
    from saaskit.testing.fake_openai import FakeOpenAI
    from saaskit.testing.fake_stripe import FakeStripe

_HOMES = {
    "TEST_PASSWORD": "saaskit.testing.factories",
    "HeadersFactory": "saaskit.testing.factories",
    "UserFactory": "saaskit.testing.factories",
    "UserMaker": "saaskit.testing.factories",
    "bearer_headers": "saaskit.testing.factories",
    "FakeOAuthProvider": "saaskit.testing.fake_oauth",
    "FakeOpenAI": "saaskit.testing.fake_openai",
    "FakeStripe": "saaskit.testing.fake_stripe",
}

__all__ = [
    "TEST_PASSWORD",
    "FakeOAuthProvider",
    "FakeOpenAI",
    "FakeStripe",
    "HeadersFactory",
    "UserFactory",
    "UserMaker",
    "bearer_headers",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'saaskit.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)

"""A pytest fixture for the fake OAuth / OpenID Connect provider.

In a host app's ``conftest.py``::

    from saaskit.testing.oauth_pytest import fake_oauth  # noqa: F401 (a fixture)

    async def test_sign_in(fake_oauth):
        fake_oauth.add_user("alice", "alice@example.com", email_verified=True)
        fake_oauth.approve_as = "alice"
        feature = OAuthFeature(OAuthSettings(providers={"fake": fake_oauth.oidc_provider()}))
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from saaskit.testing.fake_oauth import FakeOAuthProvider


@pytest.fixture
def fake_oauth() -> Iterator[FakeOAuthProvider]:
    """A fresh fake provider on 127.0.0.1 for one test."""
    with FakeOAuthProvider() as fake:
        yield fake

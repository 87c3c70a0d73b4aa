"""Fixtures of the impersonation tests: a kit with billing (a fake Stripe), a superuser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.models import User
from saaskit.privacy import PrivacyFeature, PrivacySettings
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from tests.billing.helpers import add_prices, billing_settings
from tests.helpers import (
    PASSWORD,
    bearer,
    build_app,
    login,
    make_settings,
    new_store,
    signed_up,
)

START = "/api/v1/admin/impersonation"


@dataclass
class Scene:
    """A kit, its client, a superuser and a user, each logged in."""

    kit: SaaSKit[User]
    client: httpx.AsyncClient
    admin_id: int
    admin: dict[str, str]
    user_id: int
    user: dict[str, str]

    async def impersonate(self, reason: str = "ticket #42: cannot see invoices") -> Any:
        response = await self.client.post(
            START, json={"user_id": self.user_id, "reason": reason}, headers=self.admin
        )
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
async def scene(
    database_url: str,
    tmp_path: Path,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
) -> AsyncIterator[Scene]:
    add_prices(fake_stripe)
    # Billing and privacy on: their owner-only routes are mounted too.
    privacy = PrivacyFeature(PrivacySettings(enabled=True, storage_dir=str(tmp_path)))
    kit: SaaSKit[User] = SaaSKit(
        make_settings(database_url, billing=billing_settings(fake_stripe)),
        store=new_store(),
        features=[privacy],
    )
    try:
        async for scene in _scene(kit):
            yield scene
    finally:
        await kit.aclose()


async def _scene(kit: SaaSKit[User]) -> AsyncIterator[Scene]:
    transport = httpx.ASGITransport(app=build_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        admin = await kit.users.create("root@example.com", PASSWORD, is_superuser=True)
        admin_headers = bearer((await login(client, "root@example.com"))["access_token"])
        user_headers = bearer((await signed_up(client))["access_token"])
        user = await kit.users.get_by_email("alice@example.com")
        assert user is not None
        yield Scene(kit, client, admin.id, admin_headers, user.id, user_headers)

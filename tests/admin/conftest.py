"""Fixtures of the admin console tests: a kit with billing (fake Stripe), the console."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from saaskit import SaaSKit
from saaskit.models import User
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from tests.billing.helpers import add_prices, billing_settings
from tests.helpers import PASSWORD, KitFactory, build_app

pytest.importorskip("sqladmin", reason="needs saaskit[admin]")

from saaskit.admin import mount_admin

ORIGIN = "http://test"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class FakeSecondFactor:
    """A second factor whose code is 123456, for the users in ``enrolled``."""

    def __init__(self) -> None:
        self.enrolled: set[int] = set()
        self.resets: list[int] = []

    async def required(self, user: Any) -> bool:
        return bool(user.id in self.enrolled)

    async def verify(self, user: Any, code: str) -> bool:
        return code == "123456"

    async def reset(self, user_id: int, *, actor_id: int, client: Any) -> None:
        self.enrolled.discard(user_id)
        self.resets.append(user_id)


@dataclass
class Console:
    kit: SaaSKit[User]
    client: httpx.AsyncClient
    admin_id: int
    second_factor: FakeSecondFactor
    headers: dict[str, str] = field(default_factory=lambda: {"Origin": ORIGIN})

    async def token(self, path: str = "/admin/login") -> str:
        page = await self.client.get(path)
        found = TOKEN.search(page.text)
        assert found is not None, page.text[:500]
        return found.group(1)

    async def login(
        self, email: str = "root@example.com", password: str = PASSWORD, **extra: str
    ) -> httpx.Response:
        token = await self.token()
        form = {"username": email, "password": password, "csrf_token": token, **extra}
        return await self.client.post("/admin/login", data=form, headers=self.headers)

    async def post(self, path: str, form: dict[str, str] | None = None) -> httpx.Response:
        token = await self.token(path.rsplit("/", 1)[0] + "/profile") if "/user/" in path else ""
        data = {"csrf_token": token, **(form or {})}
        return await self.client.post(path, data=data, headers=self.headers)


def console_app(kit: SaaSKit[User], second_factor: FakeSecondFactor) -> FastAPI:
    app = build_app(kit)
    mount_admin(kit, app, second_factor=second_factor)
    return app


@pytest.fixture
async def console(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
) -> AsyncIterator[Console]:
    add_prices(fake_stripe)
    kit = await make_kit(billing=billing_settings(fake_stripe))
    second_factor = FakeSecondFactor()
    transport = httpx.ASGITransport(app=console_app(kit, second_factor), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
        admin = await kit.users.create("root@example.com", PASSWORD, is_superuser=True)
        yield Console(kit, client, admin.id, second_factor)


async def add_failed_event(kit: SaaSKit[User], event_id: str = "evt_failed_1") -> int:
    """A stored webhook event that failed (a type the kit ignores, so a replay succeeds)."""
    table: Any = kit.models.webhook_event
    payload = {"id": event_id, "type": "customer.updated", "data": {"object": {"id": "cus_1"}}}
    async with kit.session_factory() as db:
        row = table(
            stripe_event_id=event_id,
            type="customer.updated",
            status="failed",
            attempts=1,
            last_error="ServiceUnavailable: Stripe is down",
            payload=payload,
            event_created_at=datetime.now(UTC),
        )
        db.add(row)
        await db.commit()
        return int(row.id)

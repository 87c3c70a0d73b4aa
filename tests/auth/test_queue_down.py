"""A task-queue outage never reveals accounts and never fails a registration."""

from __future__ import annotations

from typing import Any

import httpx

from saaskit.exceptions import ServiceUnavailable
from tests.helpers import PASSWORD, KitFactory, build_app, register


class DownRunner:
    """A task runner whose broker is unreachable."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    async def enqueue(self, name: str, payload: dict[str, Any]) -> None:
        self.attempts.append(name)
        raise ServiceUnavailable()

    async def drain(self) -> None:
        return None

    async def close(self) -> None:
        return None


async def test_forgot_password_answers_the_same_for_known_and_unknown(
    make_kit: KitFactory,
) -> None:
    kit = await make_kit()
    runner = DownRunner()
    kit.runner = runner
    kit.recovery.runner = runner
    transport = httpx.ASGITransport(app=build_app(kit))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        created = await register(client)
        assert created.status_code == 201  # the verification email could not be queued
        known = await client.post(
            "/api/v1/auth/forgot-password", json={"email": "alice@example.com"}
        )
        unknown = await client.post(
            "/api/v1/auth/forgot-password", json={"email": "nobody@example.com"}
        )
        logged_in = await client.post(
            "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
        )
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert runner.attempts == ["email.verify", "email.reset"]
    assert logged_in.status_code == 200  # the outage only cost the emails

"""Helpers of the privacy tests: a kit with privacy on, a movable clock, sign-up steps."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from saaskit import SaaSKit
from saaskit.email.memory import MemorySender
from saaskit.privacy import ErasureContext, PrivacyFeature, PrivacyService, PrivacySettings
from saaskit.store import Store
from saaskit.tasks.runner import InProcessRunner
from tests.helpers import PASSWORD, bearer, build_app, login, make_settings, new_store, register
from tests.secret_scan import REGISTRY

PRIVACY = "/api/v1/privacy"


@dataclass
class Clock:
    """Now, moved by the tests (never slept through)."""

    now: datetime = field(default_factory=lambda: datetime(2026, 12, 4, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class HookLog:
    """A host erasure hook that records what it was called with."""

    calls: list[ErasureContext] = field(default_factory=list)

    async def __call__(self, context: ErasureContext) -> None:
        self.calls.append(context)


@dataclass
class World:
    """A kit with privacy on, its app client, its clock, outbox and host hook."""

    kit: SaaSKit[Any]
    client: httpx.AsyncClient
    clock: Clock
    sender: MemorySender
    hook: HookLog
    storage: Path

    @property
    def privacy(self) -> PrivacyService:
        service: PrivacyService = self.kit.feature(PrivacyFeature)
        return service

    async def drain(self) -> None:
        await self.kit.runner.drain()


def make_world_kit(
    database_url: str,
    storage: Path,
    clock: Clock,
    hook: HookLog,
    *,
    store: Store | None = None,
    **overrides: Any,
) -> tuple[SaaSKit[Any], MemorySender]:
    settings: dict[str, Any] = {"enabled": True, "storage_dir": storage}
    settings.update(overrides.pop("privacy", {}))
    sender = MemorySender()
    kit: SaaSKit[Any] = SaaSKit(
        make_settings(database_url, **overrides),
        store=store or new_store(),
        email_sender=sender,
        features=[
            PrivacyFeature(PrivacySettings(**settings), clock=clock, erasure_hooks={"notes": hook})
        ],
    )
    if isinstance(kit.runner, InProcessRunner):
        kit.runner.backoff = 0.0  # retries without waiting
    return kit, sender


def client_for_kit(kit: SaaSKit[Any]) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(kit), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def signed_up(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    """Register and log in; the bearer headers."""
    assert (await register(client, email)).status_code == 201
    tokens = await login(client, email)
    return bearer(tokens["access_token"])


def link_param(sender: MemorySender, email: str, param: str) -> str:
    """The ``param`` of the first link in the newest email to ``email``."""
    link = sender.links(sender.last_to(email))[0]
    value = parse_qs(urlsplit(link).query)[param][0]
    REGISTRY.add(f"privacy {param}", value)  # the suite's log scan looks for it
    return value


def read_zip(content: bytes) -> dict[str, Any]:
    """Every JSON file of an export archive, parsed, by name."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: json.loads(archive.read(name)) for name in archive.namelist()}


async def delete_account(
    client: httpx.AsyncClient, headers: dict[str, str], password: str = PASSWORD
) -> httpx.Response:
    return await client.post(f"{PRIVACY}/deletion", json={"password": password}, headers=headers)


async def superuser(world: World) -> dict[str, str]:
    """A superuser (root@example.com), logged in; the bearer headers."""
    await world.kit.users.create("root@example.com", PASSWORD, is_superuser=True)
    return bearer((await login(world.client, "root@example.com"))["access_token"])


async def self_deleted(world: World, email: str = "alice@example.com") -> tuple[int, str]:
    """``email`` signed up and deleted their own account: its id and the restore token."""
    headers = await signed_up(world.client, email)
    deleted = await delete_account(world.client, headers)
    assert deleted.status_code == 202, deleted.text
    await world.drain()
    user = await world.kit.users.get_by_email(email)
    assert user is not None
    return int(user.id), link_param(world.sender, email, "token")


async def invite(
    client: httpx.AsyncClient, headers: dict[str, str], org_name: str, emails: list[str]
) -> int:
    """Create the organization ``org_name`` and invite each of ``emails``; its id."""
    org = await client.post("/api/v1/orgs", json={"name": org_name}, headers=headers)
    assert org.status_code == 201, org.text
    org_id = int(org.json()["id"])
    for email in emails:
        invited = await client.post(
            f"/api/v1/orgs/{org_id}/invitations",
            json={"email": email, "role": "member"},
            headers=headers,
        )
        assert invited.status_code == 201, invited.text
    return org_id

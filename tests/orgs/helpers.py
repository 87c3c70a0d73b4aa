"""Shared helpers of the organization tests."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update

from saaskit import SaaSKit
from tests.helpers import bearer, signed_up

ORGS = "/api/v1/orgs"


async def verified(kit: SaaSKit[Any], client: httpx.AsyncClient, email: str) -> dict[str, str]:
    """Register ``email``, mark it verified, log in: the bearer header."""
    tokens = await signed_up(client, email)
    async with kit.session_factory() as db, db.begin():
        await db.execute(
            update(kit.user_model).where(kit.user_model.email == email).values(is_verified=True)
        )
    user = await kit.users.get_by_email(email)
    assert user is not None
    await kit.users.invalidate(user.id)
    return bearer(tokens["access_token"])


async def user_id(kit: SaaSKit[Any], email: str) -> int:
    user = await kit.users.get_by_email(email)
    assert user is not None
    return int(user.id)


async def new_org(client: httpx.AsyncClient, headers: dict[str, str], name: str = "Acme") -> int:
    created = await client.post(ORGS, json={"name": name}, headers=headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def invitation_token(kit: SaaSKit[Any], email: str) -> str:
    """The token of the last invitation emailed to ``email`` (from the memory sender)."""
    marker = "/invitations/accept?token="
    outbox = kit.email_sender.outbox  # type: ignore[attr-defined]
    sent = [m for m in outbox if m.to == email and marker in m.text]
    assert sent, f"no invitation to {email}"
    text: str = sent[-1].text
    return text.split(marker)[1].split()[0]


async def join(
    kit: SaaSKit[Any],
    client: httpx.AsyncClient,
    org_id: int,
    inviter: dict[str, str],
    email: str,
    role: str = "member",
    headers: dict[str, str] | None = None,
) -> dict[str, str]:
    """Invite ``email`` as ``role`` and accept as that (new, verified) user."""
    invited = await client.post(
        f"{ORGS}/{org_id}/invitations", json={"email": email, "role": role}, headers=inviter
    )
    assert invited.status_code == 201, invited.text
    await kit.runner.drain()
    member = headers or await verified(kit, client, email)
    accepted = await client.post(
        f"{ORGS}/invitations/accept",
        json={"token": invitation_token(kit, email)},
        headers=member,
    )
    assert accepted.status_code == 200, accepted.text
    return member

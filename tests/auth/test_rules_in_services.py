"""The rules of an action live in its service: a host calling the service directly gets
the same verification email and audit trail as the HTTP route."""

from __future__ import annotations

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.email import MemorySender
from saaskit.models import User
from tests.helpers import PASSWORD, bearer, login, signed_up


@pytest.fixture
def outbox(kit: SaaSKit[User]) -> MemorySender:
    sender = MemorySender()
    kit.mailer.sender = sender
    return sender


async def test_a_host_registering_through_the_service_sends_the_verification_email(
    kit: SaaSKit[User], outbox: MemorySender
) -> None:
    await kit.auth.register("invited@example.com", PASSWORD)
    await kit.runner.drain()
    assert outbox.links(outbox.last_to("invited@example.com"))


async def test_an_invitation_flow_can_register_without_the_verification_email(
    kit: SaaSKit[User], outbox: MemorySender
) -> None:
    user = await kit.auth.register("invited@example.com", PASSWORD, send_verification=False)
    await kit.runner.drain()
    assert outbox.outbox == []
    events, _ = await kit.audit.page(user_id=user.id)
    assert [event.action for event in events] == ["register"]


async def test_the_route_sends_exactly_one_verification_email(
    kit: SaaSKit[User], client: httpx.AsyncClient, outbox: MemorySender
) -> None:
    await signed_up(client)
    await kit.runner.drain()
    assert len(outbox.outbox) == 1


async def test_deleting_a_session_is_audited_with_the_session_and_the_client(
    kit: SaaSKit[User], client: httpx.AsyncClient
) -> None:
    current = await signed_up(client)
    other = await login(client)
    other_id = kit.tokens.decode(other["access_token"], "access").session_id

    deleted = await client.delete(
        f"/api/v1/auth/sessions/{other_id}",
        headers={**bearer(current["access_token"]), "User-Agent": "pytest-agent"},
    )

    assert deleted.status_code == 204
    events, _ = await kit.audit.page(user_id=1)
    revoked = [event for event in events if event.action == "session_revoked"]
    assert len(revoked) == 1
    assert revoked[0].detail == {"session_id": other_id}
    assert revoked[0].user_agent == "pytest-agent"
    assert (
        await client.get("/api/v1/users/me", headers=bearer(other["access_token"]))
    ).status_code == 401

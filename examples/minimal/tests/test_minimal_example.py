"""The minimal example's own tests, on saaskit's pytest fixtures.

Each test imports app.py afresh on a new SQLite database (the tables come from the app's
metadata: this example has no Alembic folder of its own), with emails kept in memory.
"""

from typing import Any

import httpx

from saaskit import SaaSKit
from saaskit.email import MemorySender
from saaskit.testing import TEST_PASSWORD, HeadersFactory, UserFactory


async def test_hello_greets_the_logged_in_user(
    saaskit_client: httpx.AsyncClient, saaskit_auth_headers: dict[str, str]
) -> None:
    response = await saaskit_client.get("/api/v1/hello", headers=saaskit_auth_headers)
    assert response.status_code == 200
    assert response.json() == {"message": "Hello, user1@example.com!"}


async def test_hello_without_a_token_is_401(saaskit_client: httpx.AsyncClient) -> None:
    response = await saaskit_client.get("/api/v1/hello")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


async def test_sign_up_through_the_api(
    saaskit_client: httpx.AsyncClient, saaskit_kit: SaaSKit[Any], saaskit_outbox: MemorySender
) -> None:
    account = {"email": "bob@example.com", "password": TEST_PASSWORD}
    assert (await saaskit_client.post("/api/v1/auth/register", json=account)).status_code == 201
    await saaskit_kit.runner.drain()  # emails go out in the background
    verification = saaskit_outbox.last_to("bob@example.com")
    assert "/verify-email?token=" in saaskit_outbox.links(verification)[0]
    login = await saaskit_client.post("/api/v1/auth/login", json=account)
    token = login.json()["access_token"]
    hello = await saaskit_client.get("/api/v1/hello", headers={"Authorization": f"Bearer {token}"})
    assert hello.json() == {"message": "Hello, bob@example.com!"}


async def test_an_organization_route_for_members_with_a_permission_for_some(
    saaskit_client: httpx.AsyncClient,
    saaskit_outbox: MemorySender,
    saaskit_kit: SaaSKit[Any],
    saaskit_auth_headers: dict[str, str],
    saaskit_make_user: UserFactory,
    saaskit_headers_for: HeadersFactory,
) -> None:
    owner = saaskit_auth_headers
    created = await saaskit_client.post("/api/v1/orgs", json={"name": "Acme"}, headers=owner)
    org = created.json()["id"]
    hello = await saaskit_client.get(f"/api/v1/orgs/{org}/hello", headers=owner)
    assert hello.json() == {"message": "Hello, owner of Acme!"}
    report = await saaskit_client.get(f"/api/v1/orgs/{org}/billing-report", headers=owner)
    assert report.json()["seen_by"] == "owner"

    # Bob is invited as a plain member and accepts with the link's token.
    bob = await saaskit_headers_for(await saaskit_make_user("bob@example.com"))
    invite = {"email": "bob@example.com", "role": "member"}
    invited = await saaskit_client.post(
        f"/api/v1/orgs/{org}/invitations", json=invite, headers=owner
    )
    assert invited.status_code == 201
    await saaskit_kit.runner.drain()
    link = saaskit_outbox.links(saaskit_outbox.last_to("bob@example.com"))[0]
    token = link.split("token=")[1]
    accepted = await saaskit_client.post(
        "/api/v1/orgs/invitations/accept", json={"token": token}, headers=bob
    )
    assert accepted.status_code == 200, accepted.text
    hello = await saaskit_client.get(f"/api/v1/orgs/{org}/hello", headers=bob)
    assert hello.json() == {"message": "Hello, member of Acme!"}
    denied = await saaskit_client.get(f"/api/v1/orgs/{org}/billing-report", headers=bob)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "organization_permission_denied"

    # Anyone else: 404, the answer for an organization that does not exist.
    carol = await saaskit_headers_for(await saaskit_make_user("carol@example.com"))
    for path in ("hello", "billing-report"):
        response = await saaskit_client.get(f"/api/v1/orgs/{org}/{path}", headers=carol)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "organization_not_found"

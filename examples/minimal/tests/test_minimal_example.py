"""The minimal example's own tests, on saaskit's pytest fixtures.

Each test imports app.py afresh on a new SQLite database (the tables come from the app's
metadata: this example has no Alembic folder of its own), with emails kept in memory.
"""

from typing import Any

import httpx

from saaskit import SaaSKit
from saaskit.email import MemorySender
from saaskit.testing import TEST_PASSWORD


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

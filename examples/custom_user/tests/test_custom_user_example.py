"""Acme end to end: its own columns, the plan-gated route and the welcome hook."""

from typing import Any

import httpx
import pytest

from saaskit.email import MemorySender
from saaskit.testing import TEST_PASSWORD, FakeStripe, HeadersFactory, UserFactory


async def test_registration_takes_the_company_and_runs_the_welcome_hook(
    saaskit_client: httpx.AsyncClient, saaskit_outbox: MemorySender
) -> None:
    body = {"email": "ada@example.com", "password": TEST_PASSWORD, "company": "Engines"}
    response = await saaskit_client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["company"] == "Engines"
    assert response.json()["plan_seats"] == 1  # the column's default
    welcome = saaskit_outbox.last_to("ada@example.com")
    assert "welcome" in (welcome.subject + welcome.text).lower()


async def test_users_cannot_give_themselves_seats(
    saaskit_client: httpx.AsyncClient, saaskit_auth_headers: dict[str, str]
) -> None:
    response = await saaskit_client.patch(
        "/api/v1/users/me", json={"plan_seats": 100}, headers=saaskit_auth_headers
    )
    assert response.status_code == 422
    renamed = await saaskit_client.patch(
        "/api/v1/users/me", json={"company": "Initech"}, headers=saaskit_auth_headers
    )
    assert renamed.json()["company"] == "Initech"


async def test_the_team_page_needs_the_pro_plan(
    saaskit_client: httpx.AsyncClient,
    saaskit_make_user: UserFactory,
    saaskit_headers_for: HeadersFactory,
    fake_stripe: FakeStripe,
) -> None:
    user = await saaskit_make_user(company="Initech", plan_seats=5)
    headers = await saaskit_headers_for(user)
    denied = await saaskit_client.get("/api/v1/team", headers=headers)
    assert denied.status_code == 402
    assert denied.json()["error"]["code"] == "subscription_required"

    checkout = await saaskit_client.post(
        "/api/v1/billing/create-checkout-session", json={"plan": "pro"}, headers=headers
    )
    assert checkout.status_code == 200, checkout.text
    fake_stripe.complete_checkout(checkout.json()["id"])
    await fake_stripe.deliver(saaskit_client)

    team = await saaskit_client.get("/api/v1/team", headers=headers)
    assert team.status_code == 200, team.text
    assert team.json() == {"company": "Initech", "seats": 5, "plan": "pro"}


@pytest.mark.parametrize("path", ["/api/v1/team", "/api/v1/users/me"])
async def test_routes_need_a_token(saaskit_client: httpx.AsyncClient, path: str) -> None:
    response = await saaskit_client.get(path)
    assert response.status_code == 401


async def test_superusers_see_the_extra_columns(
    saaskit_client: httpx.AsyncClient,
    saaskit_make_user: UserFactory,
    saaskit_superuser_headers: dict[str, str],
) -> None:
    await saaskit_make_user("grace@example.com", company="Navy", plan_seats=3)
    response = await saaskit_client.get(
        "/api/v1/users", params={"email": "grace@example.com"}, headers=saaskit_superuser_headers
    )
    assert response.status_code == 200, response.text
    users: list[dict[str, Any]] = response.json()["items"]
    assert [(u["company"], u["plan_seats"]) for u in users] == [("Navy", 3)]

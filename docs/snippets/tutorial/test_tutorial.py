"""The tutorial's routes, on saaskit's pytest fixtures and fake Stripe (docs/tutorial.md).

Save it as tests/test_tutorial.py in the project made by ``saaskit init acme``; the pro plan
of ``PLANS`` in tests/conftest.py grants the "reports" feature.
"""

import httpx
from saaskit.testing import FakeStripe, HeadersFactory, UserFactory


# --8<-- [start:protected]
async def test_company_needs_a_verified_email(
    saaskit_client: httpx.AsyncClient,
    saaskit_make_user: UserFactory,
    saaskit_headers_for: HeadersFactory,
) -> None:
    assert (await saaskit_client.get("/api/v1/company")).status_code == 401

    new = await saaskit_make_user("new@example.com", verified=False, company="Engines")
    refused = await saaskit_client.get("/api/v1/company", headers=await saaskit_headers_for(new))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"

    ada = await saaskit_make_user("ada@example.com", company="Engines")
    response = await saaskit_client.get("/api/v1/company", headers=await saaskit_headers_for(ada))
    assert response.json() == {"name": "Engines", "contact": "ada@example.com"}


# --8<-- [end:protected]


# --8<-- [start:gated]
async def test_monthly_report_needs_a_plan_with_reports(
    saaskit_client: httpx.AsyncClient,
    saaskit_auth_headers: dict[str, str],
    fake_stripe: FakeStripe,
) -> None:
    report = await saaskit_client.get("/api/v1/reports/monthly", headers=saaskit_auth_headers)
    assert report.status_code == 402  # on the free plan, without a subscription
    assert report.json()["error"]["code"] == "subscription_required"
    assert report.json()["error"]["plans"] == ["pro"]  # what would allow it

    checkout = await saaskit_client.post(
        "/api/v1/billing/create-checkout-session",
        json={"plan": "pro"},
        headers=saaskit_auth_headers,
    )
    assert checkout.status_code == 200, checkout.text
    fake_stripe.complete_checkout(checkout.json()["id"])  # the customer pays
    await fake_stripe.deliver(saaskit_client)  # Stripe's signed webhooks reach the app

    report = await saaskit_client.get("/api/v1/reports/monthly", headers=saaskit_auth_headers)
    assert report.status_code == 200, report.text
    assert report.json() == {"report": "Monthly report for user1@example.com", "plan": "pro"}


# --8<-- [end:gated]

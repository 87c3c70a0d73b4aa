"""The billing-owner host code of docs/billing.md (docs/snippets/billing_owners.py) runs on
the fake Stripe."""

from __future__ import annotations

from datetime import UTC, datetime
from types import ModuleType

import httpx
import pytest

from tests.billing.helpers import Billing
from tests.docs.helpers import SNIPPETS, load_path
from tests.helpers import build_app


@pytest.fixture
def snippet(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_path(SNIPPETS / "billing_owners.py", monkeypatch)


async def test_an_organization_is_checked_out_and_gated_with_the_documented_code(
    snippet: ModuleType, billing: Billing
) -> None:
    headers = await billing.signup()
    user = await billing.user()
    orgs = {
        7: {
            "name": "Acme",
            "billing_email": "billing@acme.test",
            "created_at": datetime(2026, 1, 1, tzinfo=UTC),
            "managers": {user.id},
        }
    }
    snippet.enable_organization_billing(billing.kit, orgs)

    done = await snippet.billing_of(billing.kit, user.id, 7)

    assert done["checkout"].url.startswith("http")
    assert done["portal"].startswith("http")
    assert done["plan"] == "free"  # the default plan until it pays
    assert done["customer"] == user.stripe_customer_id
    (org_customer,) = [c for c in billing.fake.customers() if c["email"] == "billing@acme.test"]
    assert org_customer["metadata"] == {"owner_kind": "organization", "owner_id": "7"}

    app = build_app(billing.kit)
    snippet.add_org_reports(billing.kit, app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        unpaid = await client.get("/org-reports", headers={**headers, "X-Organization": "7"})
        assert unpaid.status_code == 402
        (session,) = billing.fake.calls("POST", "/v1/checkout/sessions")
        billing.fake.complete_checkout(done["checkout"].id)
        await billing.deliver()
        paid = await client.get("/org-reports", headers={**headers, "X-Organization": "7"})
        assert (paid.status_code, paid.json()) == (200, {"plan": "team"})
        stranger = await client.get("/org-reports", headers={**headers, "X-Organization": "8"})
        assert stranger.status_code == 404
    assert session.params["line_items"][0]["quantity"] == "5"  # form-encoded
    assert session.params["client_reference_id"] == "organization:7"

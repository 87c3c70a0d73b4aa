"""kit.require_plan / require_active_subscription / require_feature."""

from __future__ import annotations

import pytest
from fastapi import Depends

from saaskit.billing.plans import UserPlan
from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import Billing, add_prices, billing_settings, gated_app
from tests.helpers import KitFactory, answer, bearer, build_app, client_for, login, register


async def test_without_subscription_402_names_what_to_buy(billing: Billing) -> None:
    headers = await billing.signup()
    reports = await billing.client.get("/reports", headers=headers)
    assert reports.status_code == 402
    assert answer(reports)["error"] == {
        "code": "subscription_required",
        "message": "This requires the pro or team plan; subscribe to it.",
        "plans": ["pro", "team"],
    }
    premium = await billing.client.get("/premium", headers=headers)
    assert premium.status_code == 402
    assert premium.json()["error"]["plans"] == ["basic", "pro", "team"]
    sso = await billing.client.get("/sso", headers=headers)
    assert sso.status_code == 402
    assert sso.json()["error"]["plans"] == ["team"]
    # The default (free) plan grants "basic" without any subscription.
    basic = await billing.client.get("/basic", headers=headers)
    assert (basic.status_code, basic.json()) == (200, {"plan": "free"})


async def test_other_plan_is_403_with_the_plans_that_would_do(billing: Billing) -> None:
    headers = await billing.signup()
    await billing.subscribe(headers, "basic")
    reports = await billing.client.get("/reports", headers=headers)
    assert reports.status_code == 403
    assert reports.json()["error"]["code"] == "plan_required"
    assert reports.json()["error"]["plans"] == ["pro", "team"]
    assert "your plan is basic" in reports.json()["error"]["message"]
    sso = await billing.client.get("/sso", headers=headers)
    assert sso.status_code == 403
    assert sso.json()["error"]["code"] == "feature_not_in_plan"
    assert sso.json()["error"]["plans"] == ["team"]
    assert (await billing.client.get("/premium", headers=headers)).status_code == 200


async def test_gates_need_a_user(billing: Billing) -> None:
    for path in ("/reports", "/premium", "/sso"):
        assert (await billing.client.get(path)).status_code == 401


def test_unknown_plan_or_feature_is_refused_when_the_route_is_declared(billing: Billing) -> None:
    with pytest.raises(ValueError, match="unknown plan"):
        billing.kit.require_plan("platinum")
    with pytest.raises(ValueError, match="at least one"):
        billing.kit.require_plan()
    with pytest.raises(ValueError, match="no configured plan grants"):
        billing.kit.require_feature("teleport")


async def test_without_billing_everyone_is_on_the_default_plan(make_kit: KitFactory) -> None:
    kit = await make_kit(
        billing={"plans": {"free": {"features": ["basic"]}}, "default_plan": "free"}
    )
    app = build_app(kit)

    @app.get("/basic")
    async def basic(
        plan: UserPlan = Depends(kit.require_feature("basic")),
    ) -> dict[str, str | None]:
        return {"plan": plan.key}

    @app.get("/premium")
    async def premium(plan: UserPlan = Depends(kit.require_active_subscription())) -> None:
        return None

    async with client_for(kit, app) as client:
        assert (await register(client)).status_code == 201
        headers = bearer((await login(client))["access_token"])
        assert (await client.get("/basic", headers=headers)).json() == {"plan": "free"}
        refused = await client.get("/premium", headers=headers)
        assert refused.status_code == 402
        assert refused.json()["error"]["plans"] == []
        assert (await client.get("/api/v1/billing/plans")).status_code == 404
    with pytest.raises(RuntimeError, match="billing is not enabled"):
        _ = kit.billing


async def test_unconfigured_plans_do_not_break_imports(make_kit: KitFactory) -> None:
    kit = await make_kit()
    gate = kit.require_plan("pro")  # no plans configured: every user simply fails the gate
    assert callable(gate)
    assert await kit.plans.for_user(1) == UserPlan(key=None)


async def test_subscription_to_an_unconfigured_price_still_counts_as_subscribed(
    make_kit: KitFactory, fake_stripe: FakeStripe
) -> None:
    add_prices(fake_stripe)
    stray = fake_stripe.add_price("legacy_monthly")
    kit = await make_kit(billing=billing_settings(fake_stripe))
    async with client_for(kit, gated_app(kit)) as client:
        billing = Billing(kit, client, fake_stripe)
        headers = await billing.signup()
        subscription = await billing.subscribe(headers, "pro")
        fake_stripe.change_subscription(subscription, price=stray)
        await billing.deliver()
        status = await billing.status(headers)
        assert (status["plan"], status["entitled"]) == ("free", True)
        assert status["subscription"]["plan"] is None
        assert (await client.get("/premium", headers=headers)).status_code == 200
        assert (await client.get("/reports", headers=headers)).status_code == 403

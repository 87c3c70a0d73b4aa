"""Per-plan AI: the models a plan may use (403 ``ai_model_not_in_plan``) and overage vs
hard cap (past the ``ai_tokens`` quota: billed through the meter, or 429)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.exceptions import AIModelNotInPlan, AIQuotaExceeded
from saaskit.models import User
from saaskit.owners import Owner
from saaskit.testing import FakeOpenAI
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.openai_pytest import fake_openai  # noqa: F401 - a fixture
from tests.ai.helpers import REPLY, ask, auth_headers
from tests.billing.helpers import add_prices
from tests.helpers import PASSWORD, KitFactory, client_for

MODELS = ["gpt-4o-mini", "gpt-4o"]


@pytest.fixture(autouse=True)
def fixed_reply(fake_openai: FakeOpenAI) -> None:  # noqa: F811 - the imported fixture
    fake_openai.reply = REPLY


async def plan_kit(
    make_kit: KitFactory,
    stripe: FakeStripe,
    openai: FakeOpenAI,
    free: dict[str, Any],
    **ai: Any,
) -> SaaSKit[User]:
    add_prices(stripe)
    plans = {"free": {"quotas": {"ai_tokens": 200}, **free}}
    kit = await make_kit(
        billing=stripe.billing_settings(
            plans=plans, default_plan="free", create_customer_on_register=False
        ),
        ai=openai.ai_settings(allowed_models=MODELS, **ai),
    )
    kit.ai.meter.on_metered = None
    return kit


async def test_a_model_outside_the_plan_is_refused_with_403(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,
    fake_openai: FakeOpenAI,  # noqa: F811 - the imported fixture
) -> None:
    kit = await plan_kit(make_kit, fake_stripe, fake_openai, {"ai_models": ["gpt-4o-mini"]})
    async with client_for(kit) as client:
        headers = await auth_headers(client)
        body = {"messages": ask(), "model": "gpt-4o", "max_tokens": 20}
        refused = await client.post("/api/v1/ai/chat", json=body, headers=headers)
        assert refused.status_code == 403
        error = refused.json()["error"]
        assert error["code"] == "ai_model_not_in_plan"
        assert "gpt-4o-mini" in error["message"]
        assert fake_openai.chat_requests == []  # refused before any provider call
        ok = await client.post(
            "/api/v1/ai/chat", json={**body, "model": "gpt-4o-mini"}, headers=headers
        )
        assert ok.status_code == 200
        unknown = await client.post(
            "/api/v1/ai/chat", json={**body, "model": "other"}, headers=headers
        )
        assert unknown.status_code == 422  # not offered at all: as before
        assert unknown.json()["error"]["code"] == "ai_model_not_allowed"


async def test_plans_without_ai_models_may_use_every_allowed_model(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,
    fake_openai: FakeOpenAI,  # noqa: F811 - the imported fixture
) -> None:
    kit = await plan_kit(make_kit, fake_stripe, fake_openai, {})
    user = await kit.users.create("alice@example.com", PASSWORD)
    reply = await kit.ai.chat(user.id, ask(), model="gpt-4o", max_tokens=20)
    assert reply.usage.total_tokens > 0
    assert kit.ai.plans is None  # no plan sets AI fields: no plan lookup per call


async def test_a_hard_cap_plan_refuses_past_its_quota(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,
    fake_openai: FakeOpenAI,  # noqa: F811 - the imported fixture
) -> None:
    kit = await plan_kit(make_kit, fake_stripe, fake_openai, {}, meter_event_name="ai")
    user = await kit.users.create("alice@example.com", PASSWORD)
    await kit.ai.record_usage(user.id, "gpt-4o-mini", 190, 0)
    with pytest.raises(AIQuotaExceeded):
        await kit.ai.chat(user.id, ask(), max_tokens=20)
    async with client_for(kit) as client:
        headers = await auth_headers(client, "bob@example.com")
        bob = await kit.users.get_by_email("bob@example.com")
        assert bob is not None
        await kit.ai.record_usage(bob.id, "gpt-4o-mini", 190, 0)
        refused = await client.post(
            "/api/v1/ai/chat", json={"messages": ask(), "max_tokens": 20}, headers=headers
        )
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "ai_quota_exceeded"


async def test_an_overage_plan_goes_past_its_quota_and_bills_it_through_the_meter(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,
    fake_openai: FakeOpenAI,  # noqa: F811 - the imported fixture
) -> None:
    kit = await plan_kit(
        make_kit, fake_stripe, fake_openai, {"ai_overage": True}, meter_event_name="ai"
    )
    user = await kit.users.create("alice@example.com", PASSWORD)
    customer_id = await kit.billing.customers.ensure(Owner.user(user.id))
    await kit.ai.record_usage(user.id, "gpt-4o-mini", 190, 0)
    for _ in range(3):  # each would pass the 200-token quota
        await kit.ai.chat(user.id, ask(), max_tokens=20)
    usage = await kit.ai.usage(user.id)
    assert usage.used_tokens > 200
    assert usage.quota == 200
    assert usage.remaining_tokens == 0
    await kit.meters.flush()
    assert fake_stripe.metered(customer_id, "ai") == usage.used_tokens


def test_overage_without_a_meter_is_refused_at_startup() -> None:
    with pytest.raises(ValidationError, match=r"set ai\.meter_event_name"):
        SaaSKitSettings(
            billing={"plans": {"pro": {"ai_overage": True}}},
        )


def test_plans_may_name_only_models_the_kit_allows() -> None:
    with pytest.raises(ValidationError, match=r"add them to ai\.allowed_models"):
        SaaSKitSettings(
            billing={"plans": {"pro": {"ai_models": ["gpt-5"]}}},
        )


async def test_the_model_refusal_is_a_documented_error(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,
    fake_openai: FakeOpenAI,  # noqa: F811 - the imported fixture
) -> None:
    kit = await plan_kit(make_kit, fake_stripe, fake_openai, {"ai_models": ["gpt-4o-mini"]})
    user = await kit.users.create("alice@example.com", PASSWORD)
    with pytest.raises(AIModelNotInPlan):
        await kit.ai.chat(user.id, ask(), model="gpt-4o", max_tokens=20)
    async with client_for(kit) as client:
        schema = (await client.get("/openapi.json")).json()
    responses = schema["paths"]["/api/v1/ai/chat"]["post"]["responses"]
    assert "403" in responses

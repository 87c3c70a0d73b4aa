"""Who gets how many tokens: the default, plans, a host's own resolver; the settings."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.ai.quotas import DefaultQuota, PlanQuota, QuotaResolver
from saaskit.exceptions import AIQuotaExceeded
from saaskit.models import User
from saaskit.settings import AISettings
from saaskit.testing import FakeOpenAI
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from tests.ai.helpers import AIKitFactory, ask, auth_headers, new_user
from tests.helpers import KitFactory, client_for, new_store
from tests.helpers import make_settings as settings_for


class PlanStub:
    def __init__(self, quotas: dict[str, int]) -> None:
        self.quotas = quotas

    def quota(self, key: str, /) -> int | None:
        return self.quotas.get(key)


class Plans:
    """A plan lookup like ``kit.plans``: user 1 is on pro, 2 on a plan without AI."""

    async def for_user(self, user_id: int, /) -> PlanStub:
        return {1: PlanStub({"ai_tokens": 500_000}), 2: PlanStub({"seats": 3})}.get(
            user_id, PlanStub({})
        )


async def test_plan_quota_uses_the_plan_then_the_default() -> None:
    quota = PlanQuota(Plans(), default=10)

    assert isinstance(quota, QuotaResolver)
    assert [await quota.monthly_tokens(uid) for uid in (1, 2, 3)] == [500_000, 10, 10]


async def test_quota_follows_the_billing_plan(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
    fake_openai: FakeOpenAI,
) -> None:
    fake_stripe.add_price("pro_monthly", unit_amount=2000, product="Pro")
    plans = {
        "free": {"quotas": {"ai_tokens": 30}},
        "pro": {"price": "pro_monthly", "quotas": {"ai_tokens": 100_000}},
    }
    kit = await make_kit(
        billing=fake_stripe.billing_settings(plans=plans, default_plan="free"),
        ai=fake_openai.ai_settings(max_tokens=10),  # "Hi" reserves 25 of 30
    )
    chat = {"messages": ask("Hi")}
    async with client_for(kit) as client:
        headers = await auth_headers(client)
        usage = (await client.get("/api/v1/ai/usage", headers=headers)).json()
        assert usage["quota"] == 30  # the default (free) plan
        assert (await client.post("/api/v1/ai/chat", json=chat, headers=headers)).status_code == 200
        refused = await client.post("/api/v1/ai/chat", json=chat, headers=headers)
        assert refused.status_code == 429

        checkout = await client.post(
            "/api/v1/billing/create-checkout-session", json={"plan": "pro"}, headers=headers
        )
        assert checkout.status_code == 200, checkout.text
        fake_stripe.complete_checkout(checkout.json()["id"])
        for delivered in await fake_stripe.deliver(client):
            assert delivered.status_code == 200

        usage = (await client.get("/api/v1/ai/usage", headers=headers)).json()
        assert (usage["quota"], usage["used_tokens"]) == (100_000, 8)
        assert (await client.post("/api/v1/ai/chat", json=chat, headers=headers)).status_code == 200
    assert len(fake_openai.chat_requests) == 2


async def test_default_quota_none_means_unlimited(
    make_ai_kit: AIKitFactory, fake_openai: FakeOpenAI
) -> None:
    kit = await make_ai_kit(default_monthly_tokens=None, max_tokens=10_000)
    uid = await new_user(kit)
    await kit.ai.record_usage(uid, "gpt-4o-mini", 10**9, 0)

    await kit.ai.chat(uid, ask("Hi"))

    usage = await kit.ai.usage(uid)
    assert (usage.quota, usage.remaining_tokens) == (None, None)
    assert usage.used_tokens == 10**9 + 8


async def test_a_host_resolver_decides_the_quota(
    database_url: str, fake_openai: FakeOpenAI
) -> None:
    class NoAIForUnverified:
        async def monthly_tokens(self, user_id: int) -> int | None:
            user = await kit.users.get(user_id)
            return 50_000 if user is not None and user.is_verified else 0

    settings = settings_for(database_url, ai=fake_openai.ai_settings())
    kit = SaaSKit(settings, store=new_store(), ai_quotas=NoAIForUnverified())
    try:
        async with client_for(kit) as client:
            headers = await auth_headers(client)
            refused = await client.post(
                "/api/v1/ai/chat", json={"messages": ask()}, headers=headers
            )
            assert refused.status_code == 429
            assert refused.headers["X-AI-Quota-Limit"] == "0"
            user = await kit.users.get_by_email("alice@example.com")
            assert user is not None
            await kit.users.update(user.id, {"is_verified": True})
            ok = await client.post("/api/v1/ai/chat", json={"messages": ask()}, headers=headers)
            assert ok.status_code == 200
            usage = (await client.get("/api/v1/ai/usage", headers=headers)).json()
            assert usage["quota"] == 50_000
    finally:
        await kit.aclose()
    assert len(fake_openai.chat_requests) == 1


async def test_zero_quota_refuses_everything(ai_kit: SaaSKit[User]) -> None:
    ai_kit.ai.quotas = DefaultQuota(0)
    uid = await new_user(ai_kit)
    with pytest.raises(AIQuotaExceeded):
        await ai_kit.ai.chat(uid, ask())
    with pytest.raises(AIQuotaExceeded):
        await ai_kit.ai.stream_chat(uid, ask())


def test_ai_settings() -> None:
    assert not AISettings().enabled
    assert AISettings(api_key="sk-x").enabled
    assert AISettings(base_url="http://127.0.0.1:11434/v1").enabled
    settings = AISettings(default_model="gpt-4o", allowed_models=["gpt-4o-mini", "gpt-4o"])
    assert settings.models == ["gpt-4o", "gpt-4o-mini"]
    assert AISettings().models == ["gpt-4o-mini"]
    with pytest.raises(ValidationError, match="allowed_models"):
        AISettings(default_model="gpt-5", allowed_models=["gpt-4o"])
    with pytest.raises(ValidationError):
        AISettings(base_url="ftp://example.com")


def test_ai_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAASKIT_AI__API_KEY", "sk-env")
    monkeypatch.setenv("SAASKIT_AI__ALLOWED_MODELS", '["gpt-4o-mini", "gpt-4o"]')
    monkeypatch.setenv("SAASKIT_AI__DEFAULT_MONTHLY_TOKENS", "5000")
    settings = SaaSKitSettings(_env_file=None)
    assert settings.ai.api_key is not None
    assert settings.ai.api_key.get_secret_value() == "sk-env"
    assert settings.ai.models == ["gpt-4o-mini", "gpt-4o"]
    assert settings.ai.default_monthly_tokens == 5000
    assert "sk-env" not in repr(settings)


async def test_usage_endpoint_shows_the_quota(ai_client: httpx.AsyncClient) -> None:
    headers = await auth_headers(ai_client)
    usage = (await ai_client.get("/api/v1/ai/usage", headers=headers)).json()
    assert usage["quota"] == 100_000
    assert usage["used_tokens"] == 0
    assert usage["models"] == []

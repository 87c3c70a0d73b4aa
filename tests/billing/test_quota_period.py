"""AI quotas that reset on the billing period (``ai.quota_period = "billing_period"``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError

from saaskit import SaaSKitSettings
from saaskit.ai.metering import month_of, month_reset, period_key
from saaskit.exceptions import AIQuotaExceeded
from saaskit.owners import Owner
from saaskit.testing import FakeOpenAI
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.openai_pytest import fake_openai  # noqa: F401 - a fixture
from tests.ai.helpers import REPLY, ask
from tests.billing.helpers import Billing, add_prices
from tests.helpers import KitFactory, build_app

QUOTA = 100


@pytest.fixture(autouse=True)
def fixed_reply(fake_openai: FakeOpenAI) -> None:  # noqa: F811 - the imported fixture
    fake_openai.reply = REPLY


async def _billing(
    make_kit: KitFactory, fake: FakeStripe, openai: FakeOpenAI, period: str
) -> AsyncIterator[Billing]:
    add_prices(fake)
    plans = {"pro": {"price": "pro_monthly", "quotas": {"ai_tokens": QUOTA}}}
    kit = await make_kit(
        billing=fake.billing_settings(
            plans=plans, allowed_redirect_origins=["https://app.example.com"]
        ),
        ai=openai.ai_settings(quota_period=period, default_monthly_tokens=QUOTA),
    )
    transport = httpx.ASGITransport(app=build_app(kit), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Billing(kit, client, fake)


@pytest.fixture
async def by_period(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,
    fake_openai: FakeOpenAI,  # noqa: F811 - the imported fixture
) -> AsyncIterator[Billing]:
    async for billing in _billing(make_kit, fake_stripe, fake_openai, "billing_period"):
        yield billing


@pytest.fixture
async def by_month(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,
    fake_openai: FakeOpenAI,  # noqa: F811 - the imported fixture
) -> AsyncIterator[Billing]:
    async for billing in _billing(make_kit, fake_stripe, fake_openai, "month"):
        yield billing


def _period_end(fake: FakeStripe, sub_id: str) -> datetime:
    sub = next(s for s in fake.objects("subscriptions") if s["id"] == sub_id)
    return datetime.fromtimestamp(sub["items"]["data"][0]["current_period_end"], UTC)


async def test_without_a_subscription_the_quota_follows_the_calendar_month(
    by_period: Billing,
) -> None:
    await by_period.signup()
    user = await by_period.user()
    window = await by_period.kit.ai.meter.window(Owner.user(user.id))
    now = by_period.kit.ai.meter.clock()
    assert (window.key, window.resets_at) == (month_of(now), month_reset(month_of(now)))


async def test_the_quota_window_follows_the_subscription_period_and_resets_on_renewal(
    by_period: Billing,
) -> None:
    kit, fake = by_period.kit, by_period.fake
    headers = await by_period.signup()
    user = await by_period.user()
    sub_id = await by_period.subscribe(headers)
    end = _period_end(fake, sub_id)
    assert month_of(end) != month_of(kit.ai.meter.clock())  # a 30-day period: not the month

    window = await kit.ai.meter.window(Owner.user(user.id))
    assert (window.key, window.resets_at) == (period_key(end), end)
    await kit.ai.record_usage(user.id, "gpt-4o-mini", QUOTA - 5, 0)
    with pytest.raises(AIQuotaExceeded) as refused:
        await kit.ai.chat(user.id, ask(), max_tokens=20)
    assert refused.value.resets_at == end
    usage = (await by_period.client.get("/api/v1/ai/usage", headers=headers)).json()
    assert usage["month"] == period_key(end)
    assert usage["used_tokens"] == QUOTA - 5
    assert datetime.fromisoformat(usage["resets_at"]) == end

    fake.renew(sub_id)  # the next period starts; the webhooks sync its end
    await by_period.deliver()
    new_end = _period_end(fake, sub_id)
    assert new_end > end
    window = await kit.ai.meter.window(Owner.user(user.id))
    assert (window.key, window.resets_at) == (period_key(new_end), new_end)
    reply = await kit.ai.chat(user.id, ask(), max_tokens=20)  # a fresh allowance
    usage = (await by_period.client.get("/api/v1/ai/usage", headers=headers)).json()
    assert usage["used_tokens"] == reply.usage.total_tokens
    old = await kit.ai.meter.usage(Owner.user(user.id), period_key(end))
    assert old.total_tokens == QUOTA - 5  # the last period keeps its usage


async def test_with_calendar_months_a_subscription_changes_nothing(by_month: Billing) -> None:
    kit = by_month.kit
    headers = await by_month.signup()
    user = await by_month.user()
    await by_month.subscribe(headers)
    window = await kit.ai.meter.window(Owner.user(user.id))
    assert window.key == month_of(kit.ai.meter.clock())
    assert kit.ai.meter.period_end is None


def test_period_keys_fit_the_month_column_and_never_look_like_a_month() -> None:
    ends = [datetime(2026, 1, 31, tzinfo=UTC), datetime(2083, 12, 31, 23, 59, tzinfo=UTC)]
    keys = [period_key(end) for end in ends]
    assert all(len(key) == 6 and key.startswith("P") and "-" not in key for key in keys)
    assert period_key(ends[0]) != period_key(ends[0] + timedelta(minutes=1))
    assert period_key(ends[0]) == period_key(ends[0] + timedelta(seconds=59))


def test_billing_periods_need_billing() -> None:
    with pytest.raises(ValidationError, match="enable billing"):
        SaaSKitSettings(ai={"quota_period": "billing_period"})

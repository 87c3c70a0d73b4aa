"""The host code of the AI docs page (docs/snippets/ai_host_calls.py) runs on the fake."""

from __future__ import annotations

from types import ModuleType

import pytest

from saaskit import SaaSKit
from saaskit.exceptions import AIQuotaExceeded
from saaskit.models import User
from saaskit.owners import Owner
from saaskit.testing import FakeOpenAI
from tests.ai.helpers import AIKitFactory, new_user
from tests.docs.helpers import SNIPPETS, load_path
from tests.helpers import bearer, build_app, client_for, login


@pytest.fixture
def snippet(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_path(SNIPPETS / "ai_host_calls.py", monkeypatch)


async def test_chat_and_stream_from_host_code(
    snippet: ModuleType, ai_kit: SaaSKit[User], fake_openai: FakeOpenAI
) -> None:
    uid = await new_user(ai_kit)

    assert await snippet.summarise(ai_kit, uid, "A long text") == fake_openai.reply
    assert await snippet.story(ai_kit, uid, "Once upon a time") == fake_openai.reply

    usage = await ai_kit.ai.usage(uid)
    assert usage.requests == 2
    first = fake_openai.chat_requests[0].body
    assert first is not None
    assert first["max_completion_tokens"] == 100


async def test_metered_host_calls(
    snippet: ModuleType, make_ai_kit: AIKitFactory, fake_openai: FakeOpenAI
) -> None:
    kit = await make_ai_kit(default_monthly_tokens=200)
    uid = await new_user(kit)
    fake_openai.reply = '{"team": "billing"}'

    assert await snippet.classify(kit, uid, "I was charged twice") == '{"team": "billing"}'
    await snippet.after_another_provider(kit, uid, 100, 60)

    usage = await kit.ai.usage(uid)
    assert [(m.model, m.total_tokens) for m in usage.models] == [
        ("claude-sonnet", 160),
        ("gpt-4o-mini", 11 + 2),  # 11 prompt words, a 2-word answer
    ]
    sent = fake_openai.chat_requests[0].body
    assert sent is not None
    assert sent["response_format"] == {"type": "json_object"}
    with pytest.raises(AIQuotaExceeded):  # 173 used: no room for another reservation
        await snippet.classify(kit, uid, "Again")
    assert len(fake_openai.chat_requests) == 1


async def test_owner_calls_and_pooled_quotas_from_host_code(
    snippet: ModuleType, ai_kit: SaaSKit[User]
) -> None:
    uid = await new_user(ai_kit)
    snippet.pooled_quotas(ai_kit)

    org_used = await snippet.summaries(ai_kit, uid, 4, "A long text")

    assert org_used > 0
    assert (await ai_kit.ai.usage(uid)).used_tokens == org_used  # same call, separate meters
    assert (await ai_kit.ai.usage(Owner("organization", 4))).quota == 2_000_000
    assert (await ai_kit.ai.usage(uid)).quota == 10_000


async def test_an_org_route_bills_the_organization_pool(
    snippet: ModuleType, make_ai_kit: AIKitFactory, fake_openai: FakeOpenAI
) -> None:
    kit = await make_ai_kit(pooled_org_quota=True, org_default_monthly_tokens=5_000)
    uid = await new_user(kit)
    org, _ = await kit.orgs.create(uid, "Acme", None)
    app = build_app(kit)
    snippet.org_routes(app, kit)
    async with client_for(kit, app) as client:
        headers = bearer((await login(client))["access_token"])
        answered = await client.post(
            f"/api/v1/orgs/{org.id}/summaries", params={"text": "A report"}, headers=headers
        )
        assert answered.status_code == 200, answered.text
    assert await snippet.nightly_digest(kit, org.id, uid) == fake_openai.reply

    usage = await kit.ai.organization_usage(org.id)
    assert usage.quota == 5_000
    assert [(m.user_id, m.requests) for m in usage.members] == [(uid, 2)]
    assert (await kit.ai.usage(uid)).used_tokens == 0  # not the user's own quota

"""The admin console: superusers only, CSRF-safe, every change audited."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from saaskit import SaaSKit
from saaskit.admin.stats import activity, user_picture
from saaskit.models import User
from tests.admin.conftest import ORIGIN, Console, add_failed_event
from tests.helpers import PASSWORD, login


async def events(kit: SaaSKit[User], action: str) -> list[Any]:
    table = kit.models.audit_event
    async with kit.session_factory() as db:
        return list(
            await db.scalars(select(table).where(table.action == action).order_by(table.id))
        )


async def test_pages_need_a_login(console: Console) -> None:
    for path in ("/admin/", "/admin/user/list", "/admin/activity", "/admin/user/1/profile"):
        response = await console.client.get(path)
        assert response.status_code == 302, path
        assert response.headers["location"].endswith("/admin/login")


async def test_a_superuser_logs_in_with_the_kit_s_password(console: Console) -> None:
    response = await console.login()

    assert response.status_code == 302
    cookie = response.headers["set-cookie"]
    assert "saaskit_admin=" in cookie
    assert "samesite=strict" in cookie.lower()
    assert "path=/admin" in cookie.lower()
    assert (await console.client.get("/admin/user/list")).status_code == 200
    [event] = await events(console.kit, "admin_login")
    assert (event.outcome, event.actor_id) == ("success", console.admin_id)


async def test_non_superusers_and_wrong_passwords_cannot_log_in(console: Console) -> None:
    await console.kit.users.create("bob@example.com", PASSWORD)

    for email, password in (("bob@example.com", PASSWORD), ("root@example.com", "wrong-pass")):
        response = await console.login(email, password)
        assert response.status_code == 400
        assert "Invalid credentials" in response.text
        assert (await console.client.get("/admin/user/list")).status_code == 302
    failures = await events(console.kit, "admin_login")
    assert [(e.outcome, e.detail["reason"]) for e in failures] == [
        ("failure", "not_superuser"),
        ("failure", "InvalidCredentials"),
    ]


async def test_a_demoted_superuser_is_out_at_the_next_click(console: Console) -> None:
    await console.login()
    await console.kit.users.update(console.admin_id, {"is_superuser": False})

    assert (await console.client.get("/admin/user/list")).status_code == 302


async def test_the_second_factor_is_asked_when_the_user_has_one(console: Console) -> None:
    console.second_factor.enrolled.add(console.admin_id)

    without = await console.login()
    wrong = await console.login(code="000000")
    right = await console.login(code="123456")

    assert (without.status_code, wrong.status_code, right.status_code) == (400, 400, 302)
    reasons = [
        e.detail and e.detail.get("reason") for e in await events(console.kit, "admin_login")
    ]
    assert reasons == ["second_factor", "second_factor", None]


async def test_a_cross_origin_post_is_refused(console: Console) -> None:
    token = await console.token()
    form = {"username": "root@example.com", "password": PASSWORD, "csrf_token": token}

    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {},
    ):
        response = await console.client.post("/admin/login", data=form, headers=headers)
        assert response.status_code == 403, headers
    same = await console.client.post(
        "/admin/login", data=form, headers={"Referer": f"{ORIGIN}/admin/login"}
    )
    assert same.status_code == 302
    assert [e.outcome for e in await events(console.kit, "admin_login")] == ["success"]


async def test_a_form_without_the_session_s_token_is_refused(console: Console) -> None:
    await console.login()
    bob = await console.kit.users.create("bob@example.com", PASSWORD)

    for token in ("", "forged-token-forged-token-forged-token"):
        response = await console.client.post(
            f"/admin/user/{bob.id}/deactivate", data={"csrf_token": token}, headers=console.headers
        )
        assert response.status_code == 403
    user = await console.kit.users.get(bob.id)
    assert user is not None
    assert user.is_active


async def test_a_login_form_without_its_token_fails(console: Console) -> None:
    form = {"username": "root@example.com", "password": PASSWORD}
    response = await console.client.post("/admin/login", data=form, headers=console.headers)

    assert response.status_code == 400
    assert (await console.client.get("/admin/user/list")).status_code == 302


async def test_users_are_searched_and_shown_with_their_picture(console: Console) -> None:
    await console.login()
    bob = await console.kit.users.create("bob@example.com", PASSWORD)

    found = await console.client.get("/admin/user/list", params={"search": "bob@"})
    page = await console.client.get(f"/admin/user/{bob.id}/profile")

    assert "bob@example.com" in found.text
    assert "root@example.com" not in found.text
    assert page.status_code == 200
    for section in ('id="sessions"', 'id="organizations"', 'id="subscriptions"', 'id="ai-usage"'):
        assert section in page.text
    assert "hashed_password" not in page.text
    details = await console.client.get(f"/admin/user/details/{bob.id}")
    assert "$argon2" not in details.text
    assert "$2b$" not in details.text


async def test_deactivate_and_verify_go_through_the_kit_and_are_audited(console: Console) -> None:
    await console.login()
    bob = await console.kit.users.create("bob@example.com", PASSWORD)

    verified = await console.post(f"/admin/user/{bob.id}/verify")
    deactivated = await console.post(f"/admin/user/{bob.id}/deactivate")

    assert (verified.status_code, deactivated.status_code) == (303, 303)
    user = await console.kit.users.get(bob.id)
    assert user is not None
    assert (user.is_verified, user.is_active) == (True, False)
    [updated] = await events(console.kit, "user_updated")
    [gone] = await events(console.kit, "user_deactivated")
    assert (updated.actor_id, updated.target_id, updated.detail) == (
        console.admin_id,
        bob.id,
        {"fields": ["is_verified"]},
    )
    assert (gone.actor_id, gone.target_id) == (console.admin_id, bob.id)


async def test_impersonating_from_the_console(console: Console) -> None:
    await console.login()
    bob = await console.kit.users.create("bob@example.com", PASSWORD)

    page = await console.post(f"/admin/user/{bob.id}/impersonate", {"reason": "ticket #9"})

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    token = page.text.split('id="access-token" rows="3" readonly>', 1)[1].split("<", 1)[0]
    me = await console.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == "bob@example.com"
    [started] = await events(console.kit, "impersonation_started")
    assert (started.actor_id, started.target_id, started.detail["reason"]) == (
        console.admin_id,
        bob.id,
        "ticket #9",
    )
    refused = await console.post(f"/admin/user/{console.admin_id}/impersonate", {"reason": "xyz"})
    assert refused.status_code == 403
    no_reason = await console.post(f"/admin/user/{bob.id}/impersonate", {"reason": ""})
    assert no_reason.status_code == 400


async def test_reset_2fa_calls_the_hook_and_is_audited(console: Console) -> None:
    await console.login()
    bob = await console.kit.users.create("bob@example.com", PASSWORD)
    console.second_factor.enrolled.add(bob.id)

    response = await console.post(f"/admin/user/{bob.id}/reset-2fa")

    assert response.status_code == 303
    assert console.second_factor.resets == [bob.id]
    [event] = await events(console.kit, "second_factor_reset")
    assert (event.actor_id, event.target_id) == (console.admin_id, bob.id)


async def test_a_failed_webhook_event_is_replayed(console: Console) -> None:
    await console.login()
    pk = await add_failed_event(console.kit)

    listed = await console.client.get("/admin/webhook-event/list")
    confirm = await console.client.get(f"/admin/webhook-event/{pk}/replay")
    form_token = confirm.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    refused = await console.client.post(
        f"/admin/webhook-event/{pk}/replay", data={}, headers=console.headers
    )
    replayed = await console.client.post(
        f"/admin/webhook-event/{pk}/replay",
        data={"csrf_token": form_token},
        headers=console.headers,
    )

    assert f"/admin/webhook-event/{pk}/replay" in listed.text
    assert refused.status_code == 403
    assert replayed.status_code == 200
    assert 'id="status">processed<' in replayed.text
    [event] = await events(console.kit, "webhook_replayed")
    assert (event.outcome, event.actor_id, event.detail["event_id"]) == (
        "success",
        console.admin_id,
        "evt_failed_1",
    )


async def test_the_activity_page_draws_its_charts(console: Console) -> None:
    await console.login()
    await login(console.client, "root@example.com")  # an API login, counted today

    page = await console.client.get("/admin/activity", params={"days": "7"})

    assert page.status_code == 200
    for chart in ('id="signups"', 'id="logins"', 'id="ai-usage"'):
        assert chart in page.text
    assert 'data-series="logins"' in page.text  # today's login, drawn as a bar
    assert "<script" not in page.text.split('id="signups"', 1)[1].split("</svg>", 1)[0]


async def test_the_model_views_are_read_only(console: Console) -> None:
    await console.login()
    bob = await console.kit.users.create("bob@example.com", PASSWORD)

    edit = await console.client.post(
        f"/admin/user/edit/{bob.id}", data={"is_superuser": "y"}, headers=console.headers
    )
    delete = await console.client.delete(
        "/admin/user/delete", params={"pks": str(bob.id)}, headers=console.headers
    )
    create = await console.client.post(
        "/admin/user/create", data={"email": "x@example.com"}, headers=console.headers
    )

    assert {edit.status_code, delete.status_code, create.status_code} <= {403, 404, 405}
    user = await console.kit.users.get(bob.id)
    assert user is not None
    assert not user.is_superuser


async def test_logout_ends_the_console_session(console: Console) -> None:
    await console.login()

    await console.client.get("/admin/logout")

    assert (await console.client.get("/admin/user/list")).status_code == 302
    [event] = await events(console.kit, "admin_logout")
    assert event.actor_id == console.admin_id


def test_mounting_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from saaskit.admin import mount_admin
    from saaskit.exceptions import MissingExtra

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "sqladmin" else real(name, *a)
    )
    with pytest.raises(MissingExtra, match=r"saaskit\[admin\]"):
        mount_admin(object(), object())  # type: ignore[arg-type]


async def test_the_audit_log_is_listed_and_filtered(console: Console) -> None:
    await console.login()
    await console.kit.audit.record("custom_thing", actor_id=console.admin_id)

    everything = await console.client.get("/admin/audit/list")
    filtered = await console.client.get("/admin/audit/list", params={"action": "custom_thing"})

    assert everything.status_code == 200
    assert "admin_login" in everything.text
    assert filtered.status_code == 200
    assert "custom_thing" in filtered.text
    assert "admin_login</td>" not in filtered.text


async def test_a_copied_cookie_stops_working_at_logout(console: Console) -> None:
    await console.login()
    copied = dict(console.client.cookies)

    await console.client.get("/admin/logout")
    console.client.cookies.update(copied)  # the attacker's copy, replayed

    assert (await console.client.get("/admin/user/list")).status_code == 302


async def test_user_data_is_escaped_on_the_console_pages(console: Console) -> None:
    await console.login()
    mallory = await console.kit.users.create(
        "mallory@example.com", PASSWORD, full_name="<script>alert(1)</script>"
    )

    page = await console.client.get(f"/admin/user/{mallory.id}/profile")
    listed = await console.client.get("/admin/user/list")

    for response in (page, listed):
        assert "<script>alert(1)</script>" not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


async def test_the_activity_page_charts_ai_tokens_per_day_and_model(console: Console) -> None:
    await console.login()
    kit = console.kit
    bob = await kit.users.create("bob@example.com", PASSWORD)
    await kit.ai.meter.record(bob.id, "gpt-test", 30, 12)  # today, by the meter's clock
    await kit.ai.meter.record(bob.id, "claude-test", 5, 0)
    # The day the meter recorded, not the wall clock's: a run crossing midnight still
    # finds it among the page's 7 days.
    first = (await kit.ai.meter.daily_usage(since=date(2000, 1, 1)))[0]
    today = first.day

    page = await console.client.get("/admin/activity", params={"days": "7"})
    chart = page.text.split('id="ai-usage"', 1)[1].split("</svg>", 1)[0]

    assert "AI tokens per day and model" in chart
    assert f'data-series="gpt-test" data-label="{today}" data-value="42"' in chart
    assert f'data-series="claude-test" data-label="{today}" data-value="5"' in chart
    assert today[5:] in chart  # the day's label on the axis


async def test_ai_tokens_per_day_count_zero_on_days_without_usage(console: Console) -> None:
    kit = console.kit
    bob = await kit.users.create("bob@example.com", PASSWORD)
    carol = await kit.users.create("carol@example.com", PASSWORD)
    meter = kit.ai.meter
    for day, owner, model, tokens in [
        (datetime(2026, 2, 20, tzinfo=UTC), bob.id, "gpt-test", 99),  # before the window
        (datetime(2026, 3, 3, 8, tzinfo=UTC), bob.id, "gpt-test", 10),
        (datetime(2026, 3, 3, 9, tzinfo=UTC), carol.id, "gpt-test", 6),
        (datetime(2026, 3, 5, 23, tzinfo=UTC), carol.id, "claude-test", 4),
    ]:
        meter.clock = functools.partial(lambda moment: moment, day)
        await meter.record(owner, model, tokens, 0)

    data = await activity(kit, days=7, today=date(2026, 3, 5))
    picture = await user_picture(kit, carol.id, days=3, today=date(2026, 3, 5))

    assert data.days[0] == "2026-02-27"
    assert data.ai_tokens == {
        "claude-test": [0, 0, 0, 0, 0, 0, 4],
        "gpt-test": [0, 0, 0, 0, 16, 0, 0],  # Bob's and Carol's added up
    }
    assert picture is not None
    assert picture.ai_days == ["2026-03-03", "2026-03-04", "2026-03-05"]
    assert picture.ai_daily == {"claude-test": [0, 0, 4], "gpt-test": [6, 0, 0]}


async def test_the_user_page_charts_the_user_s_last_30_days(console: Console) -> None:
    await console.login()
    bob = await console.kit.users.create("bob@example.com", PASSWORD)
    carol = await console.kit.users.create("carol@example.com", PASSWORD)
    await console.kit.ai.meter.record(bob.id, "gpt-test", 7, 1)
    await console.kit.ai.meter.record(carol.id, "carol-model", 7, 1)

    page = await console.client.get(f"/admin/user/{bob.id}/profile")

    chart = page.text.split('id="ai-daily"', 1)[1].split("</svg>", 1)[0]
    assert "AI tokens per day and model, the last 30 days" in chart
    assert 'data-series="gpt-test"' in chart
    assert 'data-value="8"' in chart
    assert "carol-model" not in page.text  # another user's usage stays out

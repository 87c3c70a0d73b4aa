"""Prometheus metrics in one process: off by default, protected, counting what operators
watch, by route template."""

from __future__ import annotations

import sys

import httpx
import pytest
from pydantic import ValidationError

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.models import User
from saaskit.observability.metrics import MetricsMiddleware, Recorder
from tests.helpers import PASSWORD, KitFactory, bearer, build_app, client_for, login, register
from tests.observability.helpers import METRICS_TOKEN, label_values, value
from tests.ports import free_port

METRICS = {"enabled": True, "token": METRICS_TOKEN}


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics", headers=bearer(METRICS_TOKEN))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_metrics_are_off_by_default_with_no_page_and_no_middleware(
    kit: SaaSKit[User],
) -> None:
    app = build_app(kit)
    async with client_for(kit, app) as client:
        response = await client.get("/metrics")

    assert response.status_code == 404
    assert type(kit.metrics) is Recorder  # the no-op recorder
    assert MetricsMiddleware not in [m.cls for m in app.user_middleware]  # type: ignore[comparison-overlap]


def test_metrics_cannot_be_enabled_unprotected() -> None:
    with pytest.raises(ValidationError, match="SAASKIT_METRICS__TOKEN"):
        SaaSKitSettings(metrics={"enabled": True})
    with pytest.raises(ValidationError, match="shorter than 16"):
        SaaSKitSettings(metrics={"enabled": True, "token": "short"})


async def test_the_metrics_page_needs_the_token(make_kit: KitFactory) -> None:
    kit = await make_kit(metrics=METRICS)
    async with client_for(kit) as client:
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers=bearer(METRICS_TOKEN + "x"))
        basic = await client.get("/metrics", headers={"Authorization": "Basic " + METRICS_TOKEN})
        right = await client.get("/metrics", headers=bearer(METRICS_TOKEN))

    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "not_authenticated"
        assert "saaskit_" not in refused.text
    assert right.status_code == 200
    assert "saaskit_http_requests_total" in right.text


async def test_logins_registrations_refreshes_and_revocations_are_counted(
    make_kit: KitFactory,
) -> None:
    kit = await make_kit(
        metrics=METRICS, rate_limit={"login_account": {"limit": 2, "window_seconds": 60}}
    )
    async with client_for(kit) as client:
        before = await scrape(client)
        assert (await register(client, "bob@example.com")).status_code == 201
        tokens = await login(client, "bob@example.com")
        refreshed = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 200
        reused = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert reused.status_code == 401
        wrong = {"email": "carol@example.com", "password": "not-" + PASSWORD}
        statuses = [
            (await client.post("/api/v1/auth/login", json=wrong)).status_code for _ in range(3)
        ]
        assert statuses == [401, 401, 429]
        after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("saaskit_registrations_total") == 1
    assert delta("saaskit_logins_total", outcome="ok") == 1
    assert delta("saaskit_logins_total", outcome="failed") == 2
    assert delta("saaskit_logins_total", outcome="locked") == 1
    assert delta("saaskit_rate_limit_hits_total", rule="login_account") == 1
    assert delta("saaskit_token_refreshes_total", outcome="ok") == 1
    assert delta("saaskit_token_refreshes_total", outcome="reused") == 1
    assert delta("saaskit_session_revocations_total", reason="reuse") == 1
    # Every hash and check waited for a hashing thread, and none is waiting now.
    assert delta("saaskit_hash_wait_seconds_count") >= 4
    assert value(after, "saaskit_hash_queue_depth") == 0
    # The verification email of the registration ran as a task.
    assert delta("saaskit_tasks_total", task="email.verify", outcome="ok") == 1


async def test_requests_are_labelled_by_route_template_never_by_raw_path(
    make_kit: KitFactory,
) -> None:
    kit = await make_kit(metrics=METRICS)
    async with client_for(kit) as client:
        await register(client, "dave@example.com")
        tokens = await login(client, "dave@example.com")
        for user_id in (1, 2, 3, 987654):
            await client.get(f"/api/v1/users/{user_id}", headers=bearer(tokens["access_token"]))
        for junk in ("a", "b", "c"):
            await client.get(f"/no/such/{junk}")
        await client.request("BREW", "/api/v1/users/me")
        page = await scrape(client)

    routes = label_values(page, "saaskit_http_requests_total", "route")
    assert "/api/v1/users/{user_id}" in routes
    assert "unmatched" in routes
    assert not any(r.endswith(("/1", "/2", "/987654")) or r.startswith("/no/such") for r in routes)
    assert value(page, "saaskit_http_requests_total", route="/api/v1/users/{user_id}") == 4
    assert value(page, "saaskit_http_requests_total", route="unmatched", status="404") >= 3
    assert "BREW" not in label_values(page, "saaskit_http_requests_total", "method")
    assert (
        value(
            page,
            "saaskit_http_request_duration_seconds_count",
            method="POST",
            route="/api/v1/auth/login",
        )
        >= 1
    )


async def test_on_an_internal_port_metrics_are_not_served_on_the_apps_port(
    make_kit: KitFactory,
) -> None:
    port = free_port()
    kit = await make_kit(metrics={"enabled": True, "port": port})
    app = build_app(kit)
    async with kit.lifespan(app), client_for(kit, app) as client:
        on_app_port = await client.get("/metrics")
        await register(client, "erin@example.com")
        async with httpx.AsyncClient() as scraper:
            internal = await scraper.get(f"http://127.0.0.1:{port}/metrics")
            elsewhere = await scraper.get(f"http://127.0.0.1:{port}/api/v1/users/me")

    assert on_app_port.status_code == 404
    assert internal.status_code == 200
    assert value(internal.text, "saaskit_registrations_total") >= 1
    assert elsewhere.status_code == 404


async def test_the_internal_port_also_wants_the_token_when_one_is_set(
    make_kit: KitFactory,
) -> None:
    port = free_port()
    kit = await make_kit(metrics={"enabled": True, "port": port, "token": METRICS_TOKEN})
    app = build_app(kit)
    async with kit.lifespan(app), httpx.AsyncClient() as scraper:
        url = f"http://127.0.0.1:{port}/metrics"
        without = await scraper.get(url)
        with_token = await scraper.get(url, headers=bearer(METRICS_TOKEN))

    assert without.status_code == 401
    assert with_token.status_code == 200


async def test_without_prometheus_client_the_error_names_the_extra(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saaskit.exceptions import MissingExtra
    from tests.helpers import make_settings

    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # as if not installed

    with pytest.raises(MissingExtra, match=r"saaskit\[metrics\]"):
        SaaSKit(make_settings(database_url, metrics=METRICS))


async def test_database_and_store_errors_are_counted(database_url: str) -> None:
    from sqlalchemy import text

    from saaskit.store.base import StoreUnavailable
    from saaskit.store.redis import RedisStore
    from tests.helpers import make_settings
    from tests.ports import free_port

    nowhere = RedisStore(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.5)
    kit = SaaSKit(make_settings(database_url, metrics=METRICS), store=nowhere)
    try:
        async with client_for(kit) as client:
            before = await scrape(client)
            async with kit.engine.connect() as connection:
                with pytest.raises(Exception, match="no_such_table"):
                    await connection.execute(text("SELECT * FROM no_such_table"))
            with pytest.raises(StoreUnavailable):
                await kit.store.get("anything")
            after = await scrape(client)
    finally:
        await kit.aclose()

    for name in ("saaskit_database_errors_total", "saaskit_store_errors_total"):
        assert value(after, name) - value(before, name) >= 1, name

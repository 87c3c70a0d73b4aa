"""The Grafana dashboard in docs/ only uses metrics that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import KitFactory, bearer, client_for, login, register
from tests.observability.helpers import METRICS_TOKEN

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana" / "saaskit-dashboard.json"
SUFFIXES = {"_total": "counter", "_bucket": "histogram", "_sum": "histogram", "_count": "histogram"}


def dashboard_metrics() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text("utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return {name for expr in exprs for name in re.findall(r"\bsaaskit_[a-z_]+\b", expr)}


def family_of(name: str) -> tuple[str, str]:
    """The family and type a sample name belongs to (``x_total`` -> ``x``, counter)."""
    for suffix, kind in SUFFIXES.items():
        if name.endswith(suffix):
            return name.removesuffix(suffix), kind
    return name, "gauge"


def test_the_dashboard_uses_every_metric_saaskit_has() -> None:
    used = {family_of(name)[0] for name in dashboard_metrics()}

    assert len(used) == 15, sorted(used)


async def test_every_metric_the_dashboard_uses_exists_after_a_scrape(
    make_kit: KitFactory,
) -> None:
    kit = await make_kit(metrics={"enabled": True, "token": METRICS_TOKEN})
    async with client_for(kit) as client:
        await register(client, "grafana@example.com")
        await login(client, "grafana@example.com")
        page = (await client.get("/metrics", headers=bearer(METRICS_TOKEN))).text

    declared = {f.name: f.type for f in text_string_to_metric_families(page)}
    samples = {s.name for f in text_string_to_metric_families(page) for s in f.samples}
    for name in sorted(dashboard_metrics()):
        family, kind = family_of(name)
        assert declared.get(family) == kind, f"{name}: the dashboard uses a missing metric"
    for name in (
        "saaskit_http_requests_total",
        "saaskit_http_request_duration_seconds_bucket",
        "saaskit_logins_total",
        "saaskit_registrations_total",
        "saaskit_hash_wait_seconds_bucket",
        "saaskit_hash_queue_depth",
    ):
        assert name in samples, f"{name} has no sample after a registration and a login"

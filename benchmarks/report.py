"""Turn a benchmark run into JSON, a Markdown table and (with matplotlib) a chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGETS = {
    "PostgreSQL + Redis": {"me_vs_jwt": 0.65},
    "SQLite + in-process": {"me_vs_jwt": 0.80},
}
COMMON = {"storm_p99_vs_idle_p99": 1.5, "logins_vs_bcrypt_limit": 0.90, "p99_large_vs_1k": 1.2}


def _check(backend: str, key: str, value: float) -> str:
    if key in ("me_vs_jwt", "logins_vs_bcrypt_limit"):
        target = TARGETS.get(backend, {}).get(key, COMMON.get(key))
        return "" if target is None else ("✅" if value >= target else "❌") + f" ≥ {target}"
    target = COMMON.get(key)
    return "" if target is None else ("✅" if value <= target else "❌") + f" ≤ {target}"


def _logins(runs: list[dict[str, Any]]) -> str:
    return f"{sum(run['per_second'] for run in runs) / len(runs):.1f}"


def table(report: dict[str, Any]) -> str:
    lines = [
        f"bcrypt cost 12: {report['bcrypt']['hash_ms']:.0f} ms per hash, limit "
        f"{report['bcrypt']['logins_per_second_limit']:.1f} logins/s on "
        f"{report['machine']['cores']} cores",
        "",
        "| backend | measure | value | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        name, r = run["backend"], run["ratios"]
        s, bare, jwt = run["saaskit"], run["bare"], run["jwt"]
        rows = [
            (
                "bare FastAPI /me (c=32)",
                f"{bare['rps']:.0f} req/s, p50 {bare['p50_ms']:.2f} ms, "
                f"p99 {bare['p99_ms']:.2f} ms",
                "",
                "",
            ),
            (
                "JWT-decoding app /me (c=32)",
                f"{jwt['rps']:.0f} req/s, p50 {jwt['p50_ms']:.2f} ms, p99 {jwt['p99_ms']:.2f} ms",
                "",
                "",
            ),
            (
                "saaskit /me (c=32)",
                f"{s['rps']:.0f} req/s, p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms",
                f"{r['me_vs_bare']:.2f} of bare",
                "",
            ),
            (
                "saaskit /me vs JWT app",
                "",
                f"{r['me_vs_jwt']:.2f}",
                _check(name, "me_vs_jwt", r["me_vs_jwt"]),
            ),
            (
                "/me p99 idle → during login storm (c=32)",
                f"{s['p99_ms']:.2f} → {run['storm']['p99_ms']:.2f} ms "
                f"({s['rps']:.0f} → {run['storm']['rps']:.0f} req/s, "
                f"{_logins(run['storm_logins'][0::2])} logins/s)",
                f"{r['storm_p99_vs_idle_p99']:.2f}",
                _check(name, "storm_p99_vs_idle_p99", r["storm_p99_vs_idle_p99"]),
            ),
            (
                f"stricter: open-loop probe at {run['idle_probe']['rate']:.0f} req/s, p99 "
                "idle → storm",
                f"{run['idle_probe']['p99_ms']:.2f} → {run['storm_probe']['p99_ms']:.2f} ms "
                f"(p50 {run['idle_probe']['p50_ms']:.2f} → {run['storm_probe']['p50_ms']:.2f}, "
                f"{_logins(run['storm_logins'][1::2])} logins/s)",
                f"{r['probe_storm_p99_vs_idle_p99']:.2f}",
                "",
            ),
            (
                "logins/s alone (8 clients)",
                f"{run['logins_alone']['per_second']:.1f} (limit "
                f"{run['bcrypt_limit_beside']:.1f}, timed beside it)",
                f"{r['logins_vs_bcrypt_limit']:.2f} of limit",
                _check(name, "logins_vs_bcrypt_limit", r["logins_vs_bcrypt_limit"]),
            ),
        ]
        if "p99_large_vs_1k" in r:
            rows.append(
                (
                    f"/me p99 with 1,000 → {run['large_users']:,} users",
                    f"{s['p99_ms']:.2f} → {run['saaskit_large']['p99_ms']:.2f} ms",
                    f"{r['p99_large_vs_1k']:.2f}",
                    _check(name, "p99_large_vs_1k", r["p99_large_vs_1k"]),
                )
            )
        lines += [f"| {name} | {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def chart(report: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    runs = report["runs"]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.25
    for i, key in enumerate(("bare", "jwt", "saaskit")):
        values = [run[key]["rps"] for run in runs]
        positions = [x + (i - 1) * width for x in range(len(runs))]
        ax.bar(
            positions,
            values,
            width,
            label={"bare": "bare FastAPI", "jwt": "JWT decode only", "saaskit": "saaskit /me"}[key],
        )
    ax.set_xticks(range(len(runs)), [run["backend"] for run in runs])
    ax.set_ylabel("requests/s (1 uvicorn worker, c=32)")
    ax.set_title("GET /api/v1/users/me throughput")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def write_report(report: dict[str, Any], directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_text(json.dumps(report, indent=2))
    text = table(report)
    (directory / "latest.md").write_text(text + "\n")
    if chart(report, directory / "throughput.png"):
        text += f"\n\nchart: {directory / 'throughput.png'}"
    return text

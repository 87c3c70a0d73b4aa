"""A project made by ``saaskit init``, used as its README says: migrate, run, test, change.

The commands run as real processes in the new project's folder. Migrations run on the
backend under test (PostgreSQL in CI), which checks that the generated first migration is
portable; the project's own tests always use SQLite (saaskit's pytest fixtures).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.cli.helpers import run_saaskit, serving, table_columns

PHONE = "    phone: Mapped[str | None] = mapped_column(String(32), default=None)\n"
COMPANY = "    company: Mapped[str | None] = mapped_column(String(200), default=None)\n"


def upgrade_body(script: Path) -> str:
    text = script.read_text()
    return text[text.index("def upgrade") : text.index("def downgrade")]


def project_pytest(project: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAASKIT_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=project,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_new_project_migrates_runs_tests_and_evolves(
    clean_environment: Path, scratch_database_url: str
) -> None:
    created = run_saaskit("init", "demoapp", cwd=clean_environment)
    assert created.returncode == 0, created.stderr
    project = clean_environment / "demoapp"
    url = scratch_database_url  # overrides .env's SQLite file with the backend under test

    migrated = run_saaskit("migrate", cwd=project, SAASKIT_DATABASE_URL=url)
    assert migrated.returncode == 0, migrated.stderr
    assert "project migrations" in migrated.stderr
    assert {
        "users",
        "audit_events",
        "subscriptions",
        "ai_usage",
        "organizations",
        "organization_memberships",
        "organization_invitations",
    } <= set(table_columns(url))
    nothing = run_saaskit("makemigrations", "-m", "nothing", cwd=project, SAASKIT_DATABASE_URL=url)
    assert nothing.returncode == 0, nothing.stderr
    assert "No changes detected" in nothing.stdout

    with serving("run", cwd=project, ready_path="/health", SAASKIT_DATABASE_URL=url) as server:
        docs = httpx.get(f"{server.base_url}/docs", timeout=5)
        assert docs.status_code == 200
        ready = httpx.get(f"{server.base_url}/health/ready", timeout=5)
        assert ready.status_code == 200, ready.text
        schema = httpx.get(f"{server.base_url}/openapi.json", timeout=5).json()
        assert {
            "/api/v1/hello",
            "/api/v1/reports",
            "/api/v1/auth/register",
            "/api/v1/orgs/{org_id}/dashboard",
            "/api/v1/admin/orgs",
        } <= set(schema["paths"])

    tests = project_pytest(project)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "7 passed" in tests.stdout

    models = project / "app" / "models.py"
    models.write_text(models.read_text().replace(COMPANY, COMPANY + PHONE))
    added = run_saaskit("makemigrations", "-m", "add phone", cwd=project, SAASKIT_DATABASE_URL=url)
    assert added.returncode == 0, added.stderr
    [script] = (project / "migrations" / "versions").glob("*_add_phone.py")
    upgrade = upgrade_body(script)
    assert upgrade.count("add_column(") == 1
    assert "'phone'" in upgrade
    for other in ("create_table", "drop_", "alter_column", "create_index"):
        assert other not in upgrade, upgrade
    applied = run_saaskit("migrate", cwd=project, SAASKIT_DATABASE_URL=url)
    assert applied.returncode == 0, applied.stderr
    assert "phone" in table_columns(url)["users"]

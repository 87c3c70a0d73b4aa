"""``saaskit init``: the files of a new project, and that it migrates, runs and tests."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs
from dotenv import dotenv_values

from saaskit.cli.envfile import setting_names
from saaskit.cli.origin import installed_source
from tests.cli.helpers import invoke

BASE_FILES = {
    ".env",
    ".env.example",
    ".gitignore",
    ".dockerignore",
    "Dockerfile",
    "README.md",
    "alembic.ini",
    "docker-compose.yml",
    "pyproject.toml",
    "app/__init__.py",
    "app/main.py",
    "app/models.py",
    "app/schemas.py",
    "migrations/env.py",
    "migrations/script.py.mako",
    "migrations/versions/0001_initial.py",
    "tests/conftest.py",
    "tests/test_app.py",
    "tests/test_orgs.py",
    "wheels/README.md",
}


def files_of(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_init_writes_a_complete_project(clean_environment: Path) -> None:
    result = invoke("init", "demoapp")
    assert result.exit_code == 0, result.output
    project = clean_environment / "demoapp"
    assert files_of(project) == BASE_FILES | {"tests/test_billing.py", "tests/test_ai.py"}
    assert "cd demoapp" in result.stdout
    assert "saaskit migrate" in result.stdout
    # Nothing is left of the staging folder the project was built in.
    assert [p.name for p in clean_environment.iterdir()] == ["demoapp"]

    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["tool"]["saaskit"] == {"app": "app.main:app", "kit": "app.main:kit"}
    assert pyproject["project"]["dependencies"] == [
        installed_source().requirement("postgres,redis,stripe,ai,celery", "0.1.0")
    ]
    assert pyproject["tool"]["pytest"]["ini_options"]["asyncio_mode"] == "auto"

    compose = yaml.safe_load((project / "docker-compose.yml").read_text())
    assert set(compose["services"]) == {"migrate", "app", "worker", "db", "redis"}
    assert compose["services"]["worker"]["command"] == ["saaskit", "worker"]
    app_env = compose["services"]["app"]["environment"]
    assert app_env["SAASKIT_TASKS__BACKEND"] == "celery"
    assert app_env["SAASKIT_DATABASE_URL"].startswith("postgresql+asyncpg://demoapp:")

    migration = (project / "migrations/versions/0001_initial.py").read_text()
    for table in ("users", "audit_events", "subscriptions", "webhook_events", "ai_usage"):
        assert f"op.create_table('{table}'" in migration
    assert "'company'" in migration
    # Server defaults render as expressions every database compiles, not one's SQL text.
    assert "server_default=sa.true()" in migration
    assert "server_default=sa.func.now()" in migration
    assert "sa.text(" not in migration
    assert "batch_alter_table" not in migration


def test_settings_are_documented_and_secrets_fresh(clean_environment: Path) -> None:
    sqlite = invoke("init", "one")
    postgres = invoke("init", "two", "--database", "postgres")
    assert sqlite.exit_code == postgres.exit_code == 0
    assert "docker compose up -d db redis" in postgres.stdout
    assert "docker compose" not in sqlite.stdout
    one, two = clean_environment / "one", clean_environment / "two"
    env_one, env_two = dotenv_values(one / ".env"), dotenv_values(two / ".env")
    example = dotenv_values(one / ".env.example")
    key = env_one["SAASKIT_SECRET_KEY"]
    assert key
    assert len(key) >= 64
    assert key != env_two["SAASKIT_SECRET_KEY"]
    assert key not in (one / ".env.example").read_text()
    assert example["SAASKIT_SECRET_KEY"] == "change-me-to-the-output-of-saaskit-secret"
    # Every setting is in both files, as a line of its own (commented out when default).
    for name in setting_names():
        for text in ((one / ".env").read_text(), (one / ".env.example").read_text()):
            assert re.search(rf"^(# )?{name}=", text, re.M), name
    assert env_one["SAASKIT_DATABASE_URL"] == "sqlite+aiosqlite:///./one.db"
    password = env_two["POSTGRES_PASSWORD"]
    assert password
    assert env_two["SAASKIT_DATABASE_URL"] == (
        f"postgresql+asyncpg://two:{password}@127.0.0.1:5432/two"
    )
    assert password != env_one["POSTGRES_PASSWORD"]


def test_the_env_file_loads_as_settings(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saaskit import SaaSKitSettings

    assert invoke("init", "demoapp").exit_code == 0
    monkeypatch.chdir(clean_environment / "demoapp")
    monkeypatch.delenv("SAASKIT_AUTH__BCRYPT_ROUNDS")
    settings = SaaSKitSettings()
    assert settings.project_name == "demoapp"
    assert settings.problems() == []  # a strong key: fit for production as far as keys go
    assert set(settings.billing.plans) == {"free", "pro"}
    assert settings.billing.enabled is False
    assert settings.tasks.backend == "inprocess"
    assert settings.auth.bcrypt_rounds == 12


def test_features_choose_files_and_extras(clean_environment: Path) -> None:
    result = invoke("init", "plain", "--features", "none")
    assert result.exit_code == 0, result.output
    project = clean_environment / "plain"
    assert files_of(project) == BASE_FILES
    main = (project / "app/main.py").read_text()
    assert "require_plan" not in main
    assert "billing" not in (project / "tests/conftest.py").read_text().lower()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"] == [
        installed_source().requirement("postgres,redis", "0.1.0")
    ]
    compose = yaml.safe_load((project / "docker-compose.yml").read_text())
    assert "worker" not in compose["services"]
    assert "SAASKIT_TASKS__BACKEND" not in compose["services"]["app"]["environment"]

    assert invoke("init", "paid", "--features", "billing").exit_code == 0
    paid = clean_environment / "paid"
    assert "tests/test_billing.py" in files_of(paid)
    assert "tests/test_ai.py" not in files_of(paid)
    assert 'kit.require_plan("pro")' in (paid / "app/main.py").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["9lives"], "is not a project name"),
        (["my app"], "is not a project name"),
        (["demoapp", "--features", "billing,crm"], "unknown feature(s): crm"),
        (["demoapp", "--database", "mysql"], "Invalid value for '--database'"),
    ],
)
def test_bad_arguments_are_refused(clean_environment: Path, args: list[str], message: str) -> None:
    result = invoke("init", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert list(clean_environment.iterdir()) == []


def test_init_never_overwrites(clean_environment: Path) -> None:
    existing = clean_environment / "demoapp"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    result = invoke("init", "demoapp")
    assert result.exit_code == 1
    assert "already exists and is not empty" in result.stderr
    assert files_of(existing) == {"notes.txt"}

    (clean_environment / "taken").write_text("a file")
    assert invoke("init", "demoapp", "--directory", "taken").exit_code == 1
    assert (clean_environment / "taken").read_text() == "a file"


def test_init_fills_an_empty_folder_given_by_directory(clean_environment: Path) -> None:
    (clean_environment / "empty").mkdir()
    result = invoke("init", "demoapp", "--directory", "empty")
    assert result.exit_code == 0, result.output
    assert "cd empty" in result.stdout
    assert files_of(clean_environment / "empty") >= BASE_FILES
    nested = invoke("init", "deep", "-d", str(clean_environment / "a" / "b"), "--features", "ai")
    assert nested.exit_code == 0, nested.output
    assert (clean_environment / "a" / "b" / "app" / "main.py").is_file()


def test_compose_host_ports_are_configurable_in_the_env_file(clean_environment: Path) -> None:
    assert invoke("init", "acme", "--database", "postgres").exit_code == 0
    project = clean_environment / "acme"
    services = yaml.safe_load((project / "docker-compose.yml").read_text())["services"]
    assert services["db"]["ports"] == ["127.0.0.1:${POSTGRES_PORT:-5432}:5432"]
    assert services["redis"]["ports"] == ["127.0.0.1:${REDIS_PORT:-6379}:6379"]
    assert services["app"]["ports"] == ["127.0.0.1:${APP_PORT:-8000}:8000"]
    env = dotenv_values(project / ".env")
    assert (env["POSTGRES_PORT"], env["REDIS_PORT"], env["APP_PORT"]) == ("5432", "6379", "8000")
    assert "POSTGRES_PORT" in (project / "README.md").read_text()

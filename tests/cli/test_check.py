"""``saaskit check``: exit 0 only when the setup could go to production."""

from __future__ import annotations

import pytest

from tests.cli.helpers import STRONG_SECRET, backend_env, invoke
from tests.databases import TEST_DATABASE_URL
from tests.helpers import TEST_REDIS_URL

UNREACHABLE_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:1/x"


def test_healthy_development_setup_passes_with_warnings(database_url: str) -> None:
    result = invoke("check", env=backend_env(database_url))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Environment: development" in out
    assert ("postgresql (asyncpg)" if TEST_DATABASE_URL else "sqlite (aiosqlite)") in out
    assert ("Redis at" if TEST_REDIS_URL else "in-process memory") in out
    assert "ok    database reachable" in out
    assert "ok    migrations at head" in out
    if TEST_REDIS_URL:
        assert "ok    redis reachable" in out
    assert "warn  SAASKIT_SECRET_KEY is not set (development signs tokens with a random" in out
    assert "All checks passed (1 warning(s) for production)" in out


def production_env(database_url: str) -> dict[str, str]:
    return {
        **backend_env(database_url),
        "SAASKIT_ENVIRONMENT": "production",
        "SAASKIT_SECRET_KEY": STRONG_SECRET,
    }


def test_healthy_production_setup_passes(database_url: str) -> None:
    env = {
        **production_env(database_url),
        "SAASKIT_EMAIL__SMTP_HOST": "smtp.example.com",
        "SAASKIT_MFA__SECRET_KEY": STRONG_SECRET[::-1],
    }
    result = invoke("check", env=env)
    assert result.exit_code == 0, result.output
    assert "Environment: production" in result.stdout
    # The test services are plaintext on loopback: only that is warned about
    # (tests/topology/test_tls.py shows the check quiet with verified TLS).
    warnings = [line for line in result.stdout.splitlines() if line.strip().startswith("warn")]
    assert all("not encrypted" in w or "not verified" in w for w in warnings), warnings
    assert len(warnings) == bool(TEST_DATABASE_URL) + bool(TEST_REDIS_URL)


def test_production_warns_about_feature_keys_and_storage(database_url: str) -> None:
    env = {
        **production_env(database_url),
        "SAASKIT_EMAIL__SMTP_HOST": "smtp.example.com",
        "SAASKIT_OAUTH__PROVIDERS": '{"github": {"kind": "github", "client_id": "id", '
        '"client_secret": "github-client-secret"}}',
        "SAASKIT_OAUTH__CALLBACK_BASE_URL": "https://api.example.com",
        "SAASKIT_OAUTH__STORE_PROVIDER_TOKENS": "true",
        "SAASKIT_PRIVACY__ENABLED": "true",
        "SAASKIT_TASKS__BACKEND": "celery",
        "SAASKIT_TASKS__BROKER_URL": "redis://127.0.0.1:1/0",  # unreachable: fails on its own
    }
    out = invoke("check", env=env).stdout
    assert "warn  SAASKIT_MFA__SECRET_KEY is not set" in out
    assert (
        "warn  SAASKIT_OAUTH__STORE_PROVIDER_TOKENS is on without SAASKIT_OAUTH__TOKEN_KEY" in out
    )
    assert "warn  privacy exports are stored in a local directory" in out
    assert "github-client-secret" not in out
    assert "is not a saaskit setting" not in out  # features' variables are known

    development = invoke("check", env=backend_env(database_url)).stdout
    assert "SAASKIT_MFA__SECRET_KEY" not in development  # the random development key is warned


def test_production_without_smtp_is_warned_about(database_url: str) -> None:
    result = invoke("check", env=production_env(database_url))
    assert result.exit_code == 0, result.output
    assert "warn  no SMTP server (SAASKIT_EMAIL__SMTP_HOST)" in result.stdout


@pytest.mark.parametrize(
    "broker", ["redis://:brokerpw@127.0.0.1:1/0", "amqp://guest:brokerpw@127.0.0.1:1//"]
)
def test_an_unreachable_celery_broker_fails(database_url: str, broker: str) -> None:
    env = {
        **backend_env(database_url),
        "SAASKIT_TASKS__BACKEND": "celery",
        "SAASKIT_TASKS__BROKER_URL": broker,
    }
    result = invoke("check", env=env)
    assert result.exit_code == 1, result.output
    assert "FAIL  task broker unreachable at" in result.stdout
    assert "brokerpw" not in result.stdout
    assert "Traceback" not in result.output


@pytest.mark.skipif(not TEST_REDIS_URL, reason="needs the test Redis")
def test_a_reachable_celery_broker_passes(database_url: str) -> None:
    env = {
        **backend_env(database_url),
        "SAASKIT_TASKS__BACKEND": "celery",
        "SAASKIT_TASKS__BROKER_URL": TEST_REDIS_URL or "",
    }
    result = invoke("check", env=env)
    assert result.exit_code == 0, result.output
    assert "ok    task broker reachable" in result.stdout


def test_unreachable_database_fails() -> None:
    result = invoke("check", env={"SAASKIT_DATABASE_URL": UNREACHABLE_DATABASE})
    assert result.exit_code == 1
    assert "FAIL  database unreachable" in result.stdout
    assert "127.0.0.1:1" in result.stdout
    assert "Traceback" not in result.output


def test_unreachable_redis_fails(database_url: str) -> None:
    env = {"SAASKIT_DATABASE_URL": database_url, "SAASKIT_REDIS_URL": "redis://127.0.0.1:1/0"}
    result = invoke("check", env=env)
    assert result.exit_code == 1
    assert "FAIL  redis unreachable" in result.stdout


def test_production_with_the_default_secret_key_fails(database_url: str) -> None:
    env = {**backend_env(database_url), "SAASKIT_ENVIRONMENT": "production"}
    result = invoke("check", env=env)
    assert result.exit_code == 1
    assert "Environment: production" in result.stdout
    assert "FAIL  SAASKIT_SECRET_KEY is not set" in result.stdout
    assert "saaskit secret" in result.stdout
    # the rest is still checked and reported
    assert "ok    database reachable" in result.stdout
    assert "would stop production" in result.stderr


def test_pending_migrations_fail(scratch_database_url: str) -> None:
    env = {"SAASKIT_DATABASE_URL": scratch_database_url}
    assert invoke("migrate", "--revision", "0001_initial", env=env).exit_code == 0
    result = invoke("check", env=env)
    assert result.exit_code == 1
    assert "FAIL  migrations pending: the database is at 0001_initial" in result.stdout
    assert "saaskit migrate" in result.stdout


def test_missing_sqlite_file_is_reported_not_created() -> None:
    result = invoke("check")
    assert result.exit_code == 1
    assert "saaskit.db does not exist" in result.stdout
    assert invoke("check").exit_code == 1  # still not created by the first check


def test_invalid_settings_are_explained() -> None:
    result = invoke("check", env={"SAASKIT_AUTH__BCRYPT_ROUNDS": "2"})
    assert result.exit_code == 1
    assert "SAASKIT_AUTH__BCRYPT_ROUNDS" in result.stderr
    assert "Traceback" not in result.output


def test_sync_driver_is_reported_with_the_fix() -> None:
    result = invoke("check", env={"SAASKIT_DATABASE_URL": "postgresql://postgres@127.0.0.1/x"})
    assert result.exit_code == 1
    assert "SAASKIT_DATABASE_URL" in result.stderr
    assert "postgresql+asyncpg://" in result.stderr

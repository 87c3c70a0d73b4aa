"""Settings: defaults, environment and .env, and the production safety checks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import ValidationError

from saaskit import SaaSKitSettings
from saaskit.settings import DEFAULT_SECRET_KEY

GOOD_KEY = "x7Hq9sL2vN4pR8tW1yZ3bD5fG6jK0mQ2aE4uI8oP"  # 40 bytes


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SAASKIT_* variables and no .env from the developer's machine."""
    for name in list(os.environ):
        if name.upper().startswith("SAASKIT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def production(**values: Any) -> SaaSKitSettings:
    return SaaSKitSettings(environment="production", **values)


def test_defaults() -> None:
    settings = SaaSKitSettings()

    assert settings.environment == "development"
    assert settings.auth.access_token_minutes == 30
    assert settings.auth.refresh_token_days == 7
    assert settings.auth.password_hasher == "bcrypt"
    assert settings.auth.bcrypt_rounds == 12
    assert settings.auth.min_password_length == 8
    assert settings.auth.reject_common_passwords is True
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.redis_url is None
    assert settings.api_prefix == "/api/v1"
    assert settings.http.max_body_bytes == 1024 * 1024
    assert settings.cors.origins == []
    assert settings.secret_key is None  # no published fallback: see tests/test_signing_key.py


def test_the_secret_key_is_hidden_in_reprs() -> None:
    settings = SaaSKitSettings(secret_key=GOOD_KEY)

    assert GOOD_KEY not in repr(settings)
    assert GOOD_KEY not in str(settings.model_dump())


def test_environment_variables_with_prefix_and_nested_delimiter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAASKIT_AUTH__ACCESS_TOKEN_MINUTES", "5")
    monkeypatch.setenv("SAASKIT_AUTH__BCRYPT_ROUNDS", "10")
    monkeypatch.setenv("SAASKIT_DATABASE_URL", "postgresql+asyncpg://u:p@db/app")
    monkeypatch.setenv("SAASKIT_REDIS_URL", "redis://cache:6379/1")
    monkeypatch.setenv("SAASKIT_CORS__ORIGINS", '["https://app.example.com"]')
    monkeypatch.setenv("SAASKIT_HTTP__MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("AUTH__ACCESS_TOKEN_MINUTES", "99")  # no prefix: ignored

    settings = SaaSKitSettings()

    assert settings.auth.access_token_minutes == 5
    assert settings.auth.bcrypt_rounds == 10
    assert settings.auth.refresh_token_days == 7  # siblings keep their defaults
    assert settings.database_url == "postgresql+asyncpg://u:p@db/app"
    assert settings.redis_url == "redis://cache:6379/1"
    assert settings.cors.origins == ["https://app.example.com"]
    assert settings.http.max_body_bytes == 2048


def test_dotenv_file_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "SAASKIT_AUTH__REFRESH_TOKEN_DAYS=14\nSAASKIT_PROJECT_NAME=from-dotenv\n"
    )
    monkeypatch.setenv("SAASKIT_PROJECT_NAME", "from-env")

    settings = SaaSKitSettings()

    assert settings.auth.refresh_token_days == 14
    assert settings.project_name == "from-env"


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAASKIT_AUTH__BCRYPT_ROUNDS", "3")

    with pytest.raises(ValidationError, match="bcrypt_rounds"):
        SaaSKitSettings()


def test_production_refuses_a_missing_key() -> None:
    with pytest.raises(ValidationError) as info:
        production()

    message = str(info.value)
    assert "SAASKIT_SECRET_KEY is not set" in message
    assert "saaskit secret" in message  # how to fix it


def test_production_refuses_the_published_development_key() -> None:
    with pytest.raises(ValidationError) as info:
        production(secret_key=DEFAULT_SECRET_KEY)

    message = str(info.value)
    assert "published development key" in message
    assert "saaskit secret" in message


def test_production_refuses_a_31_byte_key() -> None:
    with pytest.raises(ValidationError) as info:
        production(secret_key="k" * 31)

    message = str(info.value)
    assert "31 bytes" in message
    assert "at least 32" in message


def test_production_counts_key_bytes_not_characters() -> None:
    with pytest.raises(ValidationError, match="30 bytes"):
        production(secret_key="é" * 15)
    assert production(secret_key="é" * 16).is_production


def test_production_refuses_wildcard_origins_with_credentials() -> None:
    with pytest.raises(ValidationError) as info:
        production(secret_key=GOOD_KEY, cors={"origins": ["*"], "allow_credentials": True})

    message = str(info.value)
    assert "SAASKIT_CORS__ORIGINS" in message
    assert "SAASKIT_CORS__ALLOW_CREDENTIALS=false" in message


@pytest.mark.parametrize("environment", ["development", "production"])
@pytest.mark.parametrize("null", ["null", " NULL "])
def test_null_origin_is_refused_everywhere(
    environment: Literal["development", "production"], null: str
) -> None:
    # Sandboxed iframes and file:// pages of any site send "Origin: null".
    with pytest.raises(ValidationError) as info:
        SaaSKitSettings(
            environment=environment,
            secret_key=GOOD_KEY,
            cors={"origins": ["https://app.example.com", null], "allow_credentials": False},
        )

    message = str(info.value)
    assert "cors.origins" in message
    assert "'null'" in message
    assert "any site" in message


def test_production_lists_every_problem_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        production(cors={"origins": ["*"]})

    message = str(info.value)
    assert "SAASKIT_SECRET_KEY" in message
    assert "SAASKIT_CORS__ORIGINS" in message


def test_production_refuses_weak_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAASKIT_ENVIRONMENT", "production")
    monkeypatch.setenv("SAASKIT_SECRET_KEY", "short")

    with pytest.raises(ValidationError, match="5 bytes"):
        SaaSKitSettings()


@pytest.mark.parametrize(
    "cors",
    [
        {"origins": ["https://app.example.com"], "allow_credentials": True},
        {"origins": ["*"], "allow_credentials": False},
        {"origins": []},
    ],
)
def test_production_accepts_a_good_config(cors: dict[str, Any]) -> None:
    settings = production(secret_key=GOOD_KEY, cors=cors)

    assert settings.is_production
    assert settings.problems() == []


def test_development_reports_problems_without_refusing() -> None:
    settings = SaaSKitSettings(cors={"origins": ["*"]})

    problems = settings.problems()

    assert not settings.is_production
    assert any("SAASKIT_SECRET_KEY" in p for p in problems)
    assert any("SAASKIT_CORS__ORIGINS" in p for p in problems)
    assert not any("SAASKIT_CORS" in p for p in SaaSKitSettings().problems())

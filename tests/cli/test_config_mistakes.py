"""Configuration mistakes get a line or two naming the variable and the fix, never a traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from saaskit.env_names import placeholder_secrets, unknown_variables
from saaskit.kit import warn_unknown_variables
from saaskit.settings import SaaSKitSettings
from tests.cli.helpers import invoke

NOT_JSON = {"SAASKIT_CORS__ORIGINS": "http://a.example,http://b.example"}


@pytest.mark.parametrize(
    "command",
    [
        ["check"],
        ["migrate"],
        ["createsuperuser", "--email", "a@example.com", "--password-stdin"],
    ],
)
@pytest.mark.parametrize(
    ("env", "named", "fix"),
    [
        ({"SAASKIT_DATABASE_URL": "notaurl"}, "SAASKIT_DATABASE_URL", "sqlite+aiosqlite:///"),
        (
            {"SAASKIT_DATABASE_URL": "postgresql://u@127.0.0.1/x"},
            "SAASKIT_DATABASE_URL",
            "postgresql+asyncpg://",
        ),
        (NOT_JSON, "SAASKIT_CORS__ORIGINS is not valid JSON", '["https://app.example.com"]'),
    ],
)
def test_every_command_names_the_variable_and_the_fix(
    command: list[str], env: dict[str, str], named: str, fix: str
) -> None:
    result = invoke(*command, env=env, input="a long enough password\n")
    assert result.exit_code == 1
    assert named in result.stderr
    assert fix in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) <= 3


def test_check_reports_typos_with_the_closest_name(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text("SAASKIT_DATABSE_URL=sqlite+aiosqlite:///./a.db\n")
    env = {"SAASKIT_SECERT_KEY": "x", "SAASKIT_TEST_DATABASE_URL": "sqlite+aiosqlite://"}
    result = invoke("check", env=env)
    assert "SAASKIT_SECERT_KEY is not a saaskit setting; did you mean SAASKIT_SECRET_KEY?" in (
        result.stdout
    )
    assert "did you mean SAASKIT_DATABASE_URL?" in result.stdout  # from .env too
    assert "SAASKIT_TEST_DATABASE_URL" not in result.stdout  # the suite's own variables


def test_known_names_nested_limits_and_plans_are_not_typos() -> None:
    names = [
        "SAASKIT_RATE_LIMIT__LOGIN_ACCOUNT__LIMIT",
        "SAASKIT_RATE_LIMIT__LOGIN_ACCOUNT",
        "SAASKIT_BILLING__PLANS__PRO__PRICE",
        "SAASKIT_EMAIL__SMTP_HOST",
        "SAASKIT_TEST_REDIS_URL",
        "PATH",
    ]
    assert unknown_variables(names) == []
    assert unknown_variables(["SAASKIT_WHATEVER"]) == [("SAASKIT_WHATEVER", None)]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SAASKIT_BILLING__SECRET_KEY", "sk_test_..."),
        ("SAASKIT_BILLING__WEBHOOK_SECRET", "whsec_..."),
        ("SAASKIT_AI__API_KEY", "<your OpenAI key>"),
        ("SAASKIT_SECRET_KEY", "change-me-to-the-output-of-saaskit-secret"),
    ],
)
def test_check_fails_on_placeholder_secrets(variable: str, value: str) -> None:
    result = invoke("check", env={variable: value, "SAASKIT_DATABASE_URL": "sqlite+aiosqlite://"})
    assert result.exit_code == 1
    assert f"FAIL  {variable} is a placeholder" in result.stdout
    assert value not in result.output  # the value itself is never printed


def test_real_looking_secrets_are_not_placeholders() -> None:
    settings = SaaSKitSettings(
        secret_key="q" * 48,
        billing={"secret_key": "sk_test_51Habc0123456789", "webhook_secret": "whsec_abc123"},
    )
    assert placeholder_secrets(settings) == []


def test_the_kit_warns_about_unknown_variables_once(caplog: pytest.LogCaptureFixture) -> None:
    environ = {"SAASKIT_REDIS_ULR": "redis://x", "SAASKIT_TEST_ANYTHING": "1"}
    with caplog.at_level(logging.WARNING, logger="saaskit"):
        first = warn_unknown_variables(environ)
        again = warn_unknown_variables(environ)
    assert first == ["SAASKIT_REDIS_ULR is not a saaskit setting; did you mean SAASKIT_REDIS_URL?"]
    assert again == []
    assert "did you mean SAASKIT_REDIS_URL?" in caplog.text


def test_one_half_of_a_rate_limit_keeps_the_other_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAASKIT_RATE_LIMIT__LOGIN_ACCOUNT__LIMIT", "5")
    monkeypatch.setenv("SAASKIT_RATE_LIMIT__REGISTER_IP__WINDOW_SECONDS", "60")
    limits = SaaSKitSettings().rate_limit
    assert (limits.login_account.limit, limits.login_account.window_seconds) == (5, 900)
    assert (limits.register_ip.limit, limits.register_ip.window_seconds) == (20, 60)


def test_the_short_secret_message_suggests_saaskit_secret() -> None:
    result = invoke("check", env={"SAASKIT_SECRET_KEY": "short"})
    assert "`saaskit secret`" in result.stdout
    assert "token_urlsafe" not in result.output

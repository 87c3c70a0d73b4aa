"""``.env`` files written from the settings model."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from saaskit import SaaSKitSettings
from saaskit.cli.envfile import env_value, render_env, setting_names
from saaskit.settings import RateLimit


def test_values_are_written_as_the_settings_read_them() -> None:
    assert env_value(None) == ""
    assert env_value(False) == "false"
    assert env_value(SecretStr("s3cret")) == "s3cret"
    assert env_value(RateLimit(limit=10, window_seconds=900)) == "10/15m"
    assert env_value(RateLimit(limit=3, window_seconds=7)) == "3/7s"
    assert env_value({"a": [1]}) == """'{"a": [1]}'"""
    assert env_value(2.5) == "2.5"


def test_every_setting_is_documented_and_reads_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = render_env(
        {"SAASKIT_PROJECT_NAME": "acme", "SAASKIT_AUTH__BCRYPT_ROUNDS": "13"},
        title="Acme's settings.",
        extra={"POSTGRES_PASSWORD": ("For docker compose.", "pw")},
    )
    assert text.startswith("# Acme's settings.\n")
    lines = text.splitlines()
    names = setting_names()
    assert {"SAASKIT_SECRET_KEY", "SAASKIT_RATE_LIMIT__LOGIN_IP", "SAASKIT_BILLING__PLANS"} <= names
    for name in names:
        [line] = [line for line in lines if re.match(rf"(# )?{name}=", line)]
        comment = lines[lines.index(line) - 1]
        assert comment.startswith("# "), name  # its description
        assert not re.match(r"# SAASKIT_\w+=", comment), name
    assert "SAASKIT_PROJECT_NAME=acme" in lines
    assert "# SAASKIT_SECRET_KEY=" in lines  # never the built-in development key
    assert "POSTGRES_PASSWORD=pw" in lines
    assert "``" not in text

    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("SAASKIT_")]:
        monkeypatch.delenv(name)
    (tmp_path / ".env").write_text(text)
    settings = SaaSKitSettings()
    assert settings.project_name == "acme"
    assert settings.auth.bcrypt_rounds == 13
    assert settings.rate_limit.login_ip == RateLimit(limit=50, window_seconds=900)  # default


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="SAASKIT_NOPE"):
        render_env({"SAASKIT_NOPE": "1"}, title="x")

"""The settings reference in the docs is generated from the settings model.

When this fails, regenerate the page from the repository root::

    python docs/gen_config.py > docs/snippets/config_reference.md
"""

from __future__ import annotations

from pathlib import Path

import pytest

from saaskit.settings import SaaSKitSettings
from tests.docs.helpers import DOCS, SNIPPETS, load_path

REFERENCE = SNIPPETS / "config_reference.md"
REGENERATE = "python docs/gen_config.py > docs/snippets/config_reference.md"


def test_reference_is_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    generated = load_path(DOCS / "gen_config.py", monkeypatch).generate()
    assert REFERENCE.read_text("utf-8") == generated, f"out of date; run: {REGENERATE}"


def test_configuration_page_includes_the_reference() -> None:
    page = (DOCS / "configuration.md").read_text("utf-8")
    assert "<!-- snippet: docs/snippets/config_reference.md -->" in page


def test_every_setting_has_a_row_and_a_description() -> None:
    reference = REFERENCE.read_text("utf-8")
    for name, info in SaaSKitSettings.model_fields.items():
        section = info.annotation
        if isinstance(section, type) and hasattr(section, "model_fields"):
            for field_name, field in section.model_fields.items():
                variable = f"SAASKIT_{name.upper()}__{field_name.upper()}"
                assert f"`{variable}`" in reference
                assert field.description, f"{variable} has no description"
        else:
            assert f"`SAASKIT_{name.upper()}`" in reference
            assert info.description, f"SAASKIT_{name.upper()} has no description"


def test_documented_variable_names_are_read_by_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SAASKIT_AUTH__ACCESS_TOKEN_MINUTES", "15")
    monkeypatch.setenv("SAASKIT_CORS__ORIGINS", '["https://app.example.com"]')
    monkeypatch.setenv("SAASKIT_API_PREFIX", "/api/v2")
    settings = SaaSKitSettings()
    assert settings.auth.access_token_minutes == 15
    assert settings.cors.origins == ["https://app.example.com"]
    assert settings.api_prefix == "/api/v2"

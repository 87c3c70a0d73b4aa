"""The privacy page's host app: its exporter and its hook are part of the kit's runs."""

from __future__ import annotations

from typing import Any

import pytest

from saaskit.privacy import PrivacyFeature
from tests.docs.helpers import SNIPPETS, load_path


async def test_the_documented_exporter_and_hook_are_used(
    database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAASKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("SAASKIT_SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
    monkeypatch.chdir(tmp_path)  # the archives' default directory
    module = load_path(SNIPPETS / "privacy_app.py", monkeypatch)
    kit = module.kit
    try:
        user = await kit.users.create("alice@example.com", "a-long-password-0123")
        module.NOTES[user.id] = ["first", "second"]
        privacy = kit.feature(PrivacyFeature)
        names = [e.name for e in privacy.exports.exporters()]
        assert names[-1] == "notes"
        notes = [r async for r in privacy.exports.exporters()[-1].records(user.id)]
        assert notes == [{"text": "first"}, {"text": "second"}]
        assert [name for name, _ in privacy.deletions.plan()].count("hook:notes") == 1
    finally:
        await kit.aclose()

"""Fixtures for the CLI tests: a clean environment, scratch databases, subprocess helpers."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import scratch_database


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run every CLI test in an empty folder, with no SAASKIT_* settings but fast bcrypt."""
    for name in list(os.environ):
        if name.startswith("SAASKIT_") and not name.startswith("SAASKIT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SAASKIT_AUTH__BCRYPT_ROUNDS", "4")
    monkeypatch.chdir(tmp_path)
    # Commands put the project folder on sys.path, as `uvicorn` does; undo it after.
    monkeypatch.setattr(sys, "path", list(sys.path))
    return tmp_path


@pytest.fixture
def scratch_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the backend under test, that the test may migrate freely
    (never the database other tests use)."""
    with scratch_database(tmp_path, "cli") as url:
        yield url

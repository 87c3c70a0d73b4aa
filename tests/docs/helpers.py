"""Paths of the documentation and a loader for its Python files."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SNIPPETS = DOCS / "snippets"


def load_path(path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import the file at ``path`` under a fresh module name (nothing cached between tests)."""
    name = f"_saaskit_docs_{path.stem}_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module

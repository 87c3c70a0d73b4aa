"""The version lives in one place, ``saaskit/__about__.py``; everything else reads it."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import saaskit
from saaskit.cli.scaffold import ProjectSpec

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_has_one_source() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "src/saaskit/__about__.py"
    assert version("saaskit") == saaskit.__version__, "reinstall saaskit: pip install -e ."


def test_new_projects_depend_on_this_version() -> None:
    assert ProjectSpec("demoapp").context()["saaskit_version"] == saaskit.__version__

"""A generated project names saaskit where it was installed from (it is on no index yet)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from saaskit.cli import init as init_command
from saaskit.cli.origin import INDEX, SaaskitSource, source_from_direct_url
from tests.cli.helpers import invoke


def test_a_clone_is_named_by_its_file_url() -> None:
    source = source_from_direct_url({"url": "file:///src/saaskit", "dir_info": {"editable": True}})
    assert source.requirement("postgres", "0.1.0") == "saaskit[postgres] @ file:///src/saaskit"
    assert source.wheel is None


def test_a_wheel_is_copied_and_named_relative_to_the_project(tmp_path: Path) -> None:
    wheel = tmp_path / "saaskit-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    source = source_from_direct_url({"url": wheel.as_uri(), "archive_info": {}})
    assert source.wheel == wheel
    assert source.requirement("testing", "0.1.0") == (
        "saaskit[testing] @ {root:uri}/wheels/saaskit-0.1.0-py3-none-any.whl"
    )


def test_a_vcs_install_is_pinned_to_its_commit() -> None:
    source = source_from_direct_url(
        {
            "url": "https://example.com/saaskit.git",
            "vcs_info": {"vcs": "git", "commit_id": "abc123"},
        }
    )
    assert source.reference == "git+https://example.com/saaskit.git@abc123"


def test_an_index_install_or_a_vanished_wheel_keeps_a_version_range(tmp_path: Path) -> None:
    gone = tmp_path / "saaskit-0.1.0-py3-none-any.whl"
    assert source_from_direct_url({"url": gone.as_uri(), "archive_info": {}}) == INDEX
    assert INDEX.requirement("postgres", "0.1.0") == "saaskit[postgres]>=0.1.0"


@pytest.mark.parametrize("from_wheel", [True, False])
def test_init_writes_the_source_into_the_project(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch, from_wheel: bool
) -> None:
    if from_wheel:
        wheel = clean_environment / "dist" / "saaskit-0.1.0-py3-none-any.whl"
        wheel.parent.mkdir()
        wheel.write_bytes(b"PK wheel")
        source = source_from_direct_url({"url": wheel.as_uri(), "archive_info": {}})
    else:
        source = SaaskitSource("file:///src/saaskit", description="/src/saaskit")
    monkeypatch.setattr(init_command, "installed_source", lambda: source)
    result = invoke("init", "acme", "--features", "none")
    assert result.exit_code == 0, result.output
    project = clean_environment / "acme"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    [dependency] = pyproject["project"]["dependencies"]
    assert dependency == source.requirement("postgres,redis", "0.1.0")
    assert pyproject["project"]["optional-dependencies"]["dev"][0] == source.requirement(
        "testing", "0.1.0"
    )
    assert pyproject["tool"]["hatch"]["metadata"]["allow-direct-references"] is True
    copied = project / "wheels" / "saaskit-0.1.0-py3-none-any.whl"
    assert copied.exists() is from_wheel
    # The output and the project's README say the one install command and the source.
    assert "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'" in result.stdout
    assert f"saaskit is installed from {source.description}" in result.stdout
    assert source.description in (project / "README.md").read_text()


def test_from_an_index_the_project_needs_no_direct_references(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(init_command, "installed_source", lambda: INDEX)
    assert invoke("init", "acme", "--features", "none").exit_code == 0
    pyproject = tomllib.loads((clean_environment / "acme" / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"] == ["saaskit[postgres,redis]>=0.1.0"]
    assert "hatch" not in pyproject["tool"] or "metadata" not in pyproject["tool"]["hatch"]

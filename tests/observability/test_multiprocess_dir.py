"""``saaskit run --workers N`` prepares the folder of Prometheus' multiprocess mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from saaskit.observability.multiprocess import (
    MULTIPROC_ENV,
    multiprocess_mode,
    prepare_multiprocess_metrics,
)


def test_without_a_folder_a_fresh_one_is_made_for_the_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(MULTIPROC_ENV, "")  # so monkeypatch restores the variable after
    monkeypatch.delenv(MULTIPROC_ENV)

    folder = prepare_multiprocess_metrics()

    assert os.environ[MULTIPROC_ENV] == str(folder)
    assert folder.is_dir()
    assert list(folder.iterdir()) == []
    assert multiprocess_mode()
    folder.rmdir()


def test_an_operators_folder_is_emptied_of_the_last_runs_samples(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"old samples")
    (tmp_path / "notes.txt").write_text("not ours")
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))

    assert prepare_multiprocess_metrics() == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]

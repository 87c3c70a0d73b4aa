"""Each example's own test suite, run as a user would: ``python -m pytest`` in its folder.

The examples' tests use saaskit's pytest plugin, so this also checks the plugin as hosts
get it (through the ``pytest11`` entry point of the installed saaskit).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(path.parent.parent for path in (ROOT / "examples").glob("*/tests/test_*.py"))


def run_pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    """``python -m pytest`` in ``folder``, without this run's settings or bytecode caches."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAASKIT_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=folder,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_every_example_has_its_own_tests() -> None:
    assert {path.name for path in EXAMPLES} >= {"minimal", "custom_user"}


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_own_tests_pass(example: Path) -> None:
    result = run_pytest(example)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed, output
    assert int(passed[1]) >= 3
    assert " failed" not in result.stdout

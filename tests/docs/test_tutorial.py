"""The tutorial (docs/tutorial.md), followed in a project made by ``saaskit init``.

The test makes the project as the page says (``saaskit init acme --features billing``),
applies the page's edits (its ``app/main.py``, the ``reports`` feature of the test plans,
its test module), and runs the project's own test suite with a real pytest: the generated
tests and the tutorial's, on saaskit's fixtures and fake Stripe.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from saaskit.cli import app as cli_app
from tests.cli.helpers import run_saaskit, serving
from tests.docs.helpers import DOCS, SNIPPETS

pytestmark = pytest.mark.slow

TUTORIAL = SNIPPETS / "tutorial"
PLAN_LINE = '"pro": {"name": "Pro", "price": "pro_monthly", '
PLAN_EDIT = PLAN_LINE + '"features": ["reports"], '


def in_order(lines: list[str], within: list[str]) -> bool:
    """Whether ``lines`` appear in ``within`` in the same order (others may be between)."""
    remaining = iter(within)
    return all(line in remaining for line in lines)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [n for n in os.environ if n.startswith("SAASKIT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    result = CliRunner().invoke(cli_app, ["init", "acme", "--features", "billing"])
    assert result.exit_code == 0, result.output
    return tmp_path / "acme"


def test_the_tutorial_main_extends_the_generated_one(project: Path) -> None:
    generated = (project / "app" / "main.py").read_text("utf-8").splitlines()
    tutorial = (TUTORIAL / "main.py").read_text("utf-8").splitlines()
    assert in_order(generated, tutorial), "saaskit init's app/main.py changed: update the tutorial"


def test_the_tutorial_steps_pass_in_a_new_project(project: Path) -> None:
    shutil.copy(TUTORIAL / "main.py", project / "app" / "main.py")
    shutil.copy(TUTORIAL / "test_tutorial.py", project / "tests" / "test_tutorial.py")
    conftest = project / "tests" / "conftest.py"
    text = conftest.read_text("utf-8")
    assert text.count(PLAN_LINE) == 1, "the generated test plans changed: update the tutorial"
    conftest.write_text(text.replace(PLAN_LINE, PLAN_EDIT), "utf-8")
    assert '"features": ["reports"]' in (project / ".env").read_text("utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAASKIT_", "PYTEST_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=project,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_tutorial_requests_against_saaskit_run(project: Path) -> None:
    shutil.copy(TUTORIAL / "main.py", project / "app" / "main.py")
    migrated = run_saaskit("migrate", cwd=project)
    assert migrated.returncode == 0, migrated.stderr
    with serving("run", cwd=project, ready_path="/health") as server:
        script = (TUTORIAL / "try.sh").read_text("utf-8")
        assert "http://127.0.0.1:8000/" in script
        result = subprocess.run(
            ["bash", "-c", script.replace("http://127.0.0.1:8000/", server.base_url + "/")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=project,
        )
    assert result.returncode == 0, result.stderr
    registered, hello, anonymous, company, monthly = result.stdout.splitlines()
    assert '"company":"Engines"' in registered
    assert hello == '{"message":"Hello, ada@example.com!","company":"Engines"}'
    assert '"code":"not_authenticated"' in anonymous
    assert '"code":"permission_denied"' in company
    assert '"code":"subscription_required"' in monthly
    assert '"plans":["pro"]' in monthly
    # "Registration also sent Ada a verification email", printed as the page shows it.
    console = server.output().splitlines()
    page = (DOCS / "tutorial.md").read_text("utf-8")
    shown = page.split("```text\nWARNING:  Email NOT delivered", 1)[1].split("```", 1)[0]
    *header, link = ("WARNING:  Email NOT delivered" + shown).splitlines()
    assert in_order(header, console)
    assert link.endswith("?token=eyJ...")
    [sent] = [line for line in console if line.startswith(link.removesuffix("eyJ..."))]
    assert " " not in sent.strip()


def test_the_page_shows_the_tested_files(project: Path) -> None:
    page = (DOCS / "tutorial.md").read_text("utf-8")
    for section in ("protected", "gated"):
        assert f"<!-- snippet: docs/snippets/tutorial/main.py:{section} -->" in page
        assert f"<!-- snippet: docs/snippets/tutorial/test_tutorial.py:{section} -->" in page
    assert '"features": ["reports"]' in page
    [plans] = [line for line in page.splitlines() if line.startswith("SAASKIT_BILLING__PLANS=")]
    assert plans in (project / ".env").read_text("utf-8").splitlines()
    for section in ("hello", "company", "monthly"):
        assert f"<!-- snippet: docs/snippets/tutorial/try.sh:{section} -->" in page

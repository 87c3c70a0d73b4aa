"""The command reference in the docs is generated from the Typer app.

When this fails, regenerate the page from the repository root::

    python docs/gen_cli.py > docs/snippets/cli_reference.md
"""

from __future__ import annotations

import pytest
import typer

from saaskit.cli import app
from tests.docs.helpers import DOCS, SNIPPETS, load_path

REFERENCE = SNIPPETS / "cli_reference.md"
REGENERATE = "python docs/gen_cli.py > docs/snippets/cli_reference.md"


def test_reference_is_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    generated = load_path(DOCS / "gen_cli.py", monkeypatch).generate()
    assert REFERENCE.read_text("utf-8") == generated, f"out of date; run: {REGENERATE}"


def test_reference_page_includes_the_reference() -> None:
    page = (DOCS / "cli-reference.md").read_text("utf-8")
    assert "<!-- snippet: docs/snippets/cli_reference.md -->" in page


def test_every_command_and_option_has_a_row() -> None:
    reference = REFERENCE.read_text("utf-8")
    root = typer.main.get_command(app)
    pending = [("saaskit", root)]
    seen = 0
    while pending:
        path, group = pending.pop()
        for name, command in getattr(group, "commands", {}).items():
            heading = f"# `{path} {name}`\n"
            assert heading in reference, f"{path} {name} is missing"
            section = reference.split(heading, 1)[1].split("\n#", 1)[0]
            for param in command.params:
                for option in [*param.opts, *param.secondary_opts]:
                    if option.startswith("-"):
                        assert option in section, f"{path} {name} {option} is missing"
            seen += 1
            pending.append((f"{path} {name}", command))
    assert seen >= 10

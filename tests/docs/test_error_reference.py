"""The error code table in the docs is generated from saaskit.exceptions.

When this fails, regenerate it from the repository root::

    python docs/gen_errors.py > docs/snippets/error_codes.md
"""

from __future__ import annotations

import pytest

from saaskit.exceptions import ErrorCode
from tests.docs.helpers import DOCS, SNIPPETS, load_path

TABLE = SNIPPETS / "error_codes.md"
REGENERATE = "python docs/gen_errors.py > docs/snippets/error_codes.md"


def test_table_is_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    generated = load_path(DOCS / "gen_errors.py", monkeypatch).generate()
    assert TABLE.read_text("utf-8") == generated, f"out of date; run: {REGENERATE}"


def test_errors_page_includes_the_table() -> None:
    assert "<!-- snippet: docs/snippets/error_codes.md -->" in (DOCS / "errors.md").read_text(
        "utf-8"
    )


def test_every_code_has_a_row() -> None:
    table = TABLE.read_text("utf-8")
    assert [code.value for code in ErrorCode if f"| `{code.value}` |" not in table] == []

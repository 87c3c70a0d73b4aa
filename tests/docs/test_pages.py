"""The README and the docs pages say what the code does.

Drift checks: the README's set-up commands, its copies of files that tests run, code
blocks that must come from tested files, and that every error code, route and CLI option
is documented.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer

from saaskit.cli import app as cli_app
from tests.docs.helpers import DOCS, ROOT, SNIPPETS

README = (ROOT / "README.md").read_text("utf-8")
DEMO_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/saaskit demo"
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest"
FENCE = re.compile(
    r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S
)
SNIPPET = re.compile(r"<!-- snippet: (?P<path>[^\s:]+)(?::(?P<section>[\w-]+))? -->")
MARKED_FENCE = re.compile(
    r"^(?P<indent> *)<!-- snippet: [^\n]+ -->\n(?P=indent)```(?P<lang>[\w-]*)\n", re.M
)
PAGES = sorted(DOCS.glob("*.md"))


def _load_sync_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_snippets", DOCS / "sync_snippets.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


sync_snippets = _load_sync_script()


def fences(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block, bodies dedented."""
    blocks = []
    for match in FENCE.finditer(text):
        indent = len(match["indent"])
        body = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
        blocks.append((match["lang"], body))
    return blocks


def test_readme_opens_with_the_two_set_up_commands() -> None:
    lines = README.splitlines()
    assert lines[0] == "# saaskit"
    assert lines[1] == ""
    assert lines[2]  # the one-line description
    assert not lines[2].startswith("#")
    head = README.split("\n## ", 1)[0]
    blocks = fences(head)
    assert blocks == [("bash", DEMO_COMMAND + "\n"), ("bash", TEST_COMMAND + "\n")]
    before_demo, rest = head.split("```bash\n" + DEMO_COMMAND, 1)
    assert "Run the demo" in before_demo.rstrip().split("\n\n")[-1]
    assert "Run the tests" in rest.split("```bash\n")[0]


def test_readme_shows_the_tested_example_app() -> None:
    example = (ROOT / "examples" / "minimal" / "app.py").read_text("utf-8")
    assert ("python", example) in fences(README)


def snippet_section(path: Path, section: str) -> str:
    text = path.read_text("utf-8")
    start = f"# --8<-- [start:{section}]\n"
    end = f"# --8<-- [end:{section}]"
    return text.split(start, 1)[1].split(end, 1)[0]


def test_readme_walkthrough_is_the_tested_script() -> None:
    script = snippet_section(SNIPPETS / "walkthrough.sh", "walkthrough")
    assert ("bash", script) in fences(README)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_blocks_come_from_tested_files(page: Path) -> None:
    text = page.read_text("utf-8")
    python_blocks = [lang for lang, _ in fences(text) if lang in ("python", "py")]
    marked = [m["lang"] for m in MARKED_FENCE.finditer(text) if m["lang"] in ("python", "py")]
    assert len(marked) == len(python_blocks), (
        f"{page.name}: every Python block must be a copy of a tested file, marked with "
        "<!-- snippet: path[:section] --> on the line before it (docs/sync_snippets.py)"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_show_code_not_include_lines(page: Path) -> None:
    """A page reads the same on GitHub as on the site: no --8<-- lines that only MkDocs expands."""
    assert '--8<-- "' not in page.read_text("utf-8"), page.name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_included_files_exist(page: Path) -> None:
    for match in SNIPPET.finditer(page.read_text("utf-8")):
        path = ROOT / match["path"]
        assert path.is_file(), f"{page.name} includes missing {match['path']}"
        if match["section"]:
            assert f"[start:{match['section']}]" in path.read_text("utf-8")


def test_every_inlined_example_equals_its_file() -> None:
    """The code on the pages is the code the tests run (python docs/sync_snippets.py)."""
    for page in PAGES:
        text = page.read_text("utf-8")
        assert sync_snippets.sync_page(text) == text, (
            f"{page.name} has a stale copy of an example; run: python docs/sync_snippets.py"
        )


def test_sync_replaces_a_stale_copy_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "ex.py").write_text(
        "import os\n\n\ndef f():\n    # --8<-- [start:body]\n    return os.sep\n"
        "    # --8<-- [end:body]\n"
    )
    page = (
        "Intro\n\n    <!-- snippet: ex.py:body -->\n    ```python\n    old\n    ```\n\n"
        "<!-- snippet: ex.py -->\n```python\n```\nEnd\n"
    )
    synced = sync_snippets.sync_page(page, root=tmp_path)
    assert synced == (
        "Intro\n\n    <!-- snippet: ex.py:body -->\n    ```python\n    return os.sep\n    ```\n\n"
        "<!-- snippet: ex.py -->\n```python\nimport os\n\n\ndef f():\n    return os.sep\n```\n"
        "End\n"
    )
    with pytest.raises(ValueError, match="no section 'nope'"):
        sync_snippets.sync_page("<!-- snippet: ex.py:nope -->\n```\n```\n", root=tmp_path)


def test_sync_check_mode_fails_on_a_stale_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (tmp_path / "ex.py").write_text("x = 1\n")
    page = docs / "page.md"
    page.write_text("<!-- snippet: ex.py -->\n```python\nx = 0\n```\n")
    monkeypatch.setattr(sync_snippets, "ROOT", tmp_path)
    monkeypatch.setattr(sync_snippets, "DOCS", docs)
    monkeypatch.setattr(sync_snippets, "pages", lambda docs=docs: [page])
    assert sync_snippets.main(["--check"]) == 1
    assert "run: python docs/sync_snippets.py" in capsys.readouterr().err
    assert sync_snippets.main([]) == 0
    assert page.read_text() == "<!-- snippet: ex.py -->\n```python\nx = 1\n```\n"
    assert sync_snippets.main(["--check"]) == 0


def _normalize(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{id}", path)


def test_every_route_is_documented() -> None:
    from fastapi import FastAPI

    from saaskit import SaaSKit, SaaSKitSettings

    kit = SaaSKit(SaaSKitSettings(database_url="sqlite+aiosqlite:///:memory:"))
    app = FastAPI()
    kit.install(app)
    prefix = kit.settings.api_prefix
    docs = "\n".join(p.read_text("utf-8") for p in PAGES)
    paths = app.openapi()["paths"]
    kit.passwords.close()
    routes = [
        f"{method.upper()} {_normalize(path.removeprefix(prefix))}"
        for path, operations in paths.items()
        for method in operations
    ]
    assert len(routes) > 10
    assert [route for route in routes if f"`{route}`" not in docs] == []


ROW = re.compile(r"^\| `(?P<route>[A-Z]+ /[^`]*)` \|.*\| (?P<errors>[\d, ]*) \|$", re.M)


def _only_string_path_params(operation: dict[str, Any]) -> bool:
    parameters = operation.get("parameters", [])
    return "requestBody" not in operation and all(
        p["in"] == "path" and p.get("schema", {}).get("type") == "string" for p in parameters
    )


def test_documented_error_statuses_cover_the_openapi_ones() -> None:
    """Each route table row lists at least the error statuses the route declares."""
    from fastapi import FastAPI

    from saaskit import SaaSKit, SaaSKitSettings
    from saaskit.routing import BODY_TOO_LARGE, UNREADABLE_BODY

    kit = SaaSKit(SaaSKitSettings(database_url="sqlite+aiosqlite:///:memory:"))
    app = FastAPI()
    kit.install(app)
    paths = app.openapi()["paths"]
    kit.passwords.close()
    documented: dict[str, set[str]] = {}
    for page in PAGES:
        for row in ROW.finditer(page.read_text("utf-8")):
            documented[row["route"]] = {e.strip() for e in row["errors"].split(",") if e.strip()}
    assert len(documented) >= 20, "the route tables were not found"
    for path, operations in paths.items():
        for method, operation in operations.items():
            route = f"{method.upper()} {_normalize(path.removeprefix(kit.settings.api_prefix))}"
            if route not in documented:
                continue  # health routes: described in prose
            declared = {s for s in operation["responses"] if not s.startswith("2")}
            if _only_string_path_params(operation):
                declared.discard("422")  # FastAPI declares it; a string path cannot fail
            if operation["responses"].get("400", {}).get("description") == UNREADABLE_BODY:
                declared.discard("400")  # on every body route; described once in errors.md
            if operation["responses"].get("413", {}).get("description") == BODY_TOO_LARGE:
                declared.discard("413")  # likewise
            assert declared <= documented[route], f"{route}: {declared - documented[route]}"


def test_every_cli_command_and_option_is_documented() -> None:
    page = (DOCS / "cli.md").read_text("utf-8")
    group = typer.main.get_command(cli_app)
    commands = getattr(group, "commands", {})
    assert commands
    for name, command in commands.items():
        assert f"## `{name}`" in page, f"saaskit {name} has no section in cli.md"
        section = page.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
        subcommands = getattr(command, "commands", {})
        for sub_name, sub in [(name, command), *subcommands.items()]:
            if sub is not command:
                assert f"saaskit {name} {sub_name}" in section, f"saaskit {name} {sub_name}"
            for param in sub.params:
                for option in [*param.opts, *param.secondary_opts]:
                    if option.startswith("--") and option != "--help":
                        assert option in section, f"saaskit {name} {option} is not documented"


def test_readme_keeps_the_virtualenvs_saaskit_and_says_how_to_change_the_port() -> None:
    """After `.venv/bin/saaskit demo`, a bare `saaskit` would not be found (no activated venv)."""
    bare = re.compile(r"(^|[\s;&|(])saaskit\s+[a-z-]")
    for lang, body in fences(README):
        if lang in ("bash", "sh", "console"):
            for line in body.splitlines():
                if bare.search(line.replace(".venv/bin/saaskit", "")):
                    pytest.fail(f"README runs a bare saaskit: {line}")
    assert ".venv/bin/saaskit demo --port 9000" in README

"""Copy the tested example files into the docs pages, so a page reads the same raw and built.

Each example on a page is a marker naming the file (and, optionally, a section of it) followed
by the code itself, so GitHub and any editor show the code, and MkDocs shows the same::

    <!-- snippet: docs/snippets/myapp/main.py:routes -->
    ```python
    ...the lines between "# --8<-- [start:routes]" and "# --8<-- [end:routes]"...
    ```

Generated Markdown (tables) is inlined between a marker and ``<!-- end snippet -->``. A
section is the text between ``--8<-- [start:NAME]`` and ``--8<-- [end:NAME]`` comment lines,
dedented, without the marker lines of other sections (pymdownx.snippets' rules).

Usage (from the repository root)::

    python docs/sync_snippets.py          # rewrite the pages whose copies are stale
    python docs/sync_snippets.py --check  # exit 1, listing them, if any copy is stale (CI)
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MARKER = re.compile(r"^(?P<indent> *)<!-- snippet: (?P<path>[^\s:]+)(?::(?P<section>[\w-]+))? -->$")
END = "<!-- end snippet -->"
SECTION_LINE = re.compile(r"^\s*\S*\s*--8<-- \[(?:start|end):[\w-]+\]\s*$")
FENCE = re.compile(r"^(?P<indent> *)(?P<ticks>```+)(?P<info>.*)$")


@dataclass(frozen=True)
class Snippet:
    """A marker on a page: the file (and section) its code comes from."""

    path: str
    section: str | None

    def text(self, root: Path = ROOT) -> str:
        """The file's text (or its section's), without section markers or trailing blank lines.

        Raises:
            ValueError: the file or the section does not exist.
        """
        source = root / self.path
        if not source.is_file():
            raise ValueError(f"{self.path} does not exist")
        lines = source.read_text("utf-8").splitlines()
        if self.section is not None:
            start = re.compile(rf"--8<-- \[start:{re.escape(self.section)}\]\s*$")
            end = re.compile(rf"--8<-- \[end:{re.escape(self.section)}\]\s*$")
            first = next((i for i, line in enumerate(lines) if start.search(line)), None)
            last = next((i for i, line in enumerate(lines) if end.search(line)), None)
            if first is None or last is None or last < first:
                raise ValueError(f"{self.path} has no section {self.section!r}")
            lines = lines[first + 1 : last]
        kept = [line for line in lines if not SECTION_LINE.match(line)]
        return textwrap.dedent("\n".join(kept)).strip("\n")


def _indented(text: str, indent: str) -> list[str]:
    return [indent + line if line else "" for line in text.splitlines()]


def sync_page(text: str, root: Path = ROOT) -> str:
    """``text`` (a page) with every snippet's copy replaced by the file's current text.

    Raises:
        ValueError: a marker is not followed by a code block (or an end marker), or names a
            missing file or section.
    """
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        match = MARKER.match(line)
        if match is None:
            continue
        indent = match["indent"]
        snippet = Snippet(match["path"], match["section"])
        content = snippet.text(root)
        fence = FENCE.match(lines[index]) if index < len(lines) else None
        if fence is not None and fence["indent"] == indent:
            # Marker, then a fenced block: replace the block's body.
            close = next(
                (
                    j
                    for j in range(index + 1, len(lines))
                    if lines[j].strip() == fence["ticks"]
                    and lines[j].startswith(indent + fence["ticks"])
                ),
                None,
            )
            if close is None:
                raise ValueError(f"the code block after {line.strip()} is not closed")
            out.append(lines[index])
            out.extend(_indented(content, indent))
            out.append(lines[close])
            index = close + 1
            continue
        # Marker, then Markdown up to the end marker.
        close = next((j for j in range(index, len(lines)) if lines[j].strip() == END), None)
        if close is None:
            raise ValueError(f"{line.strip()} is followed by neither a code block nor {END}")
        out.append("")
        out.extend(_indented(content, indent))
        out.append("")
        out.append(lines[close])
        index = close + 1
    return "\n".join(out)


def pages(docs: Path = DOCS) -> list[Path]:
    """The Markdown pages of the site."""
    return sorted(docs.glob("*.md"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    check = parser.parse_args(argv).check
    stale: list[str] = []
    for page in pages(DOCS):
        text = page.read_text("utf-8")
        try:
            synced = sync_page(text, ROOT)
        except ValueError as error:
            print(f"{page.relative_to(ROOT)}: {error}", file=sys.stderr)
            return 1
        if synced != text:
            stale.append(str(page.relative_to(ROOT)))
            if not check:
                page.write_text(synced, "utf-8")
    if check and stale:
        print(
            "stale example copies in: " + ", ".join(stale) + "\nrun: python docs/sync_snippets.py",
            file=sys.stderr,
        )
        return 1
    if stale:
        print("updated: " + ", ".join(stale))
    return 0


if __name__ == "__main__":
    sys.exit(main())

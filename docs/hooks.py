"""mkdocs hooks: reST roles as plain code, and the changelog page from ``CHANGELOG.md``.

The reST roles:

saaskit's docstrings are Google style, but a few cross-references are written the Sphinx
way (``:class:`~saaskit.db.UserMixin```), which Markdown renders as ``:class:`` followed
by code. This shows them as code only, with ``~`` keeping the last name, as Sphinx does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

CHANGELOG = Path(__file__).resolve().parents[1] / "CHANGELOG.md"

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|exc|data|obj):<code>(~?)([^<]+)</code>")


def _code(match: re.Match[str]) -> str:
    name = match[2].rsplit(".", 1)[-1] if match[1] else match[2]
    return f"<code>{name}</code>"


def on_page_content(html: str, **_: Any) -> str:
    return _ROLE.sub(_code, html)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """The changelog page is ``CHANGELOG.md`` itself (``docs/changelog.md`` links to it)."""
    if page.file.src_uri == "changelog.md":
        return CHANGELOG.read_text("utf-8")
    return markdown

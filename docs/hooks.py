"""mkdocs hook: render the reST roles some docstrings use as plain code.

saaskit's docstrings are Google style, but a few cross-references are written the Sphinx
way (``:class:`~saaskit.db.UserMixin```), which Markdown renders as ``:class:`` followed
by code. This shows them as code only, with ``~`` keeping the last name, as Sphinx does.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|exc|data|obj):<code>(~?)([^<]+)</code>")


def _code(match: re.Match[str]) -> str:
    name = match[2].rsplit(".", 1)[-1] if match[1] else match[2]
    return f"<code>{name}</code>"


def on_page_content(html: str, **_: Any) -> str:
    return _ROLE.sub(_code, html)

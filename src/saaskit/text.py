"""Text that is safe to store, log and put in an email: no control characters.

Control characters in user input cause real damage: PostgreSQL refuses NUL in text
(a 500 at the database, whose log line carried the SQL parameters), a newline in a name
breaks the header or subject line of an email it is rendered into, and escape sequences
rewrite terminals that tail the logs. Every text field of saaskit's request bodies uses
one of these types, so such input is a 422 before any service sees it:

- :data:`SingleLine`: names, tokens, model names, URLs: no C0/C1 control character at all;
- :data:`MultiLine`: free text such as an AI prompt: tab and line breaks allowed;
- :data:`PasswordText`: passwords: anything but NUL (bcrypt cannot hash it, and a
  password may legitimately contain other odd characters).

Example:
    ```python
    from pydantic import BaseModel
    from saaskit.text import SingleLine

    class Profile(BaseModel):
        company: SingleLine | None = None
    ```
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

# C0 controls, DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control_characters(value: str, *, allow_line_breaks: bool = False) -> bool:
    """Whether ``value`` holds a control character (tab, CR and LF allowed on request)."""
    pattern = _CONTROL_BUT_LINES if allow_line_breaks else _CONTROL
    return pattern.search(value) is not None


def _single_line(value: str) -> str:
    if has_control_characters(value):
        raise ValueError("must not contain control characters (line breaks, tabs, NUL...)")
    return value


def _multi_line(value: str) -> str:
    if has_control_characters(value, allow_line_breaks=True):
        raise ValueError("must not contain control characters other than tabs and line breaks")
    return value


def _password(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    return value


SingleLine = Annotated[str, AfterValidator(_single_line)]
"""A ``str`` without control characters."""

MultiLine = Annotated[str, AfterValidator(_multi_line)]
"""A ``str`` whose only control characters are tabs and line breaks."""

PasswordText = Annotated[str, AfterValidator(_password)]
"""A password: any character but NUL."""

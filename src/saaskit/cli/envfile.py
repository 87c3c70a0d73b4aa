"""``.env`` files that document every setting, written from :class:`SaaSKitSettings` itself.

Each setting gets its description as a comment and a line with its environment variable:
active (``SAASKIT_X=value``) when the project sets it, else commented out with the
default (``# SAASKIT_X=default``), so the file stays complete as settings are added.
"""

from __future__ import annotations

import inspect
import json
import re
import textwrap
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from saaskit.orgs.schemas import OrgsSettings
from saaskit.settings import SaaSKitSettings

FEATURE_SECTIONS: dict[str, type[BaseModel]] = {"orgs": OrgsSettings}
"""The settings sections of the kit's own features that are not fields of
:class:`SaaSKitSettings` (a feature reads its section itself)."""

PREFIX = "SAASKIT_"
DELIMITER = "__"
WIDTH = 96
_UNITS = (("d", 86400), ("h", 3600), ("m", 60))


def _is_section(annotation: Any) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, BaseModel)


def _is_rate_limit(annotation: Any) -> bool:
    return _is_section(annotation) and {"limit", "window_seconds"} <= set(annotation.model_fields)


def _window(seconds: int) -> str:
    for unit, size in _UNITS:
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def env_value(value: Any) -> str:
    """``value`` as written in a ``.env`` file (JSON for lists and dicts, single-quoted).

    Example:
        >>> env_value(True), env_value(None), env_value(["a"])
        ('true', '', '\\'["a"]\\'')
    """
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, BaseModel) and _is_rate_limit(type(value)):
        data = value.model_dump()
        return f"{data['limit']}/{_window(data['window_seconds'])}"
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, list | dict):
        return f"'{json.dumps(value)}'"
    return str(value)


def _literals(text: str) -> str:
    """Double-backtick (reST) literals as single-backtick (Markdown) ones."""
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def _comment(text: str) -> list[str]:
    text = _literals(" ".join(text.split()))
    return [f"# {line}" for line in textwrap.wrap(text, WIDTH - 2)] if text else []


def _setting(name: str, info: FieldInfo, active: Mapping[str, str]) -> list[str]:
    lines = _comment(info.description or "")
    if name in active:
        return [*lines, f"{name}={active[name]}"]
    default = info.get_default(call_default_factory=True)
    if name == f"{PREFIX}SECRET_KEY":
        default = None  # never write the built-in development key
    return [*lines, f"# {name}={env_value(default)}"]


def _section_lines(
    model: type[BaseModel], env_prefix: str, active: Mapping[str, str]
) -> Iterator[str]:
    for field, info in model.model_fields.items():
        if _is_section(info.annotation) and not _is_rate_limit(info.annotation):
            continue
        yield from _setting(f"{env_prefix}{field.upper()}", info, active)
        yield ""


def setting_names(model: type[BaseModel] = SaaSKitSettings, env_prefix: str = PREFIX) -> set[str]:
    """Every environment variable of the settings (``SAASKIT_AUTH__BCRYPT_ROUNDS``, ...)."""
    names: set[str] = set()
    for field, info in model.model_fields.items():
        name = f"{env_prefix}{field.upper()}"
        section = info.annotation
        if inspect.isclass(section) and issubclass(section, BaseModel):
            if _is_rate_limit(section):
                names.add(name)
            else:
                names |= setting_names(section, name + DELIMITER)
        else:
            names.add(name)
    return names


def render_env(
    active: Mapping[str, str],
    *,
    title: str,
    extra: Mapping[str, tuple[str, str]] | None = None,
) -> str:
    """The text of a ``.env`` file.

    Args:
        active: values the project sets, by environment variable (already formatted,
            see :func:`env_value`); every other setting is written commented out.
        title: the comment at the top of the file.
        extra: variables that are not saaskit settings (e.g. for docker compose):
            name → (comment, value).

    Raises:
        ValueError: ``active`` names a variable that is not a setting.
    """
    known = setting_names()
    for name, model in FEATURE_SECTIONS.items():
        known |= setting_names(model, f"{PREFIX}{name.upper()}{DELIMITER}")
    unknown = set(active) - known
    if unknown:
        raise ValueError(f"not saaskit settings: {', '.join(sorted(unknown))}")
    lines = [*_comment(title), ""]
    lines += ["# ---- general", ""]
    lines += _section_lines(SaaSKitSettings, PREFIX, active)
    for field, info in SaaSKitSettings.model_fields.items():
        section = info.annotation
        if not _is_section(section) or _is_rate_limit(section):
            continue
        assert isinstance(section, type)
        summary = inspect.cleandoc(section.__doc__ or "").partition("\n")[0]
        lines += [_literals(f"# ---- {field}: {summary}"), ""]
        lines += _section_lines(section, f"{PREFIX}{field.upper()}{DELIMITER}", active)
    for name, model in FEATURE_SECTIONS.items():
        summary = inspect.cleandoc(model.__doc__ or "").partition("\n")[0]
        lines += [_literals(f"# ---- {name}: {summary}"), ""]
        lines += _section_lines(model, f"{PREFIX}{name.upper()}{DELIMITER}", active)
    if extra:
        lines += ["# ---- not saaskit settings", ""]
        for name, (comment, value) in extra.items():
            lines += [*_comment(comment), f"{name}={value}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"

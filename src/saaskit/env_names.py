"""The ``SAASKIT_*`` variable names the settings read, to catch typos and placeholders.

Example:
    >>> unknown_variables({"SAASKIT_SECERT_KEY": "x", "SAASKIT_TEST_DATABASE_URL": "y"})
    [('SAASKIT_SECERT_KEY', 'SAASKIT_SECRET_KEY')]
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, SecretStr

from saaskit.settings import SaaSKitSettings

logger = logging.getLogger("saaskit")
_warned: set[str] = set()

PREFIX = "SAASKIT_"
NOT_SETTINGS = ("SAASKIT_TEST_",)
"""Variables of saaskit's own test suite and pytest plugin, read outside the settings."""

_PLACEHOLDER = re.compile(
    r"\.\.\.|…|<[^>]*>|change-?me|replace-?me|your[-_ ]"
    r"|^(sk|pk|rk|whsec)_(test_|live_)?x*$|^x{3,}$",
    re.IGNORECASE,
)


def _model(annotation: Any) -> type[BaseModel] | None:
    """The settings model inside ``annotation`` (``Model``, ``Model | None``, ``Annotated``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _model(argument)
        if found is not None and get_origin(annotation) is not dict:
            return found
    return None


_COLLECTIONS = (list, dict, set, frozenset, tuple)


def _is_collection(annotation: Any) -> bool:
    """Whether the environment gives ``annotation`` as JSON (a list or a mapping)."""
    if get_origin(annotation) in _COLLECTIONS or annotation in _COLLECTIONS:
        return True
    return any(_is_collection(argument) for argument in get_args(annotation))


def _names(model: type[BaseModel], prefix: str) -> tuple[set[str], set[str], set[str]]:
    """(exact names, prefixes of free-form keys, JSON-valued names) under ``prefix``."""
    exact: set[str] = set()
    open_prefixes: set[str] = set()
    json_valued: set[str] = set()
    for name, field in model.model_fields.items():
        variable = prefix + name.upper()
        exact.add(variable)
        annotation = field.annotation
        if get_origin(annotation) is dict:
            open_prefixes.add(variable + "__")  # e.g. one plan of SAASKIT_BILLING__PLANS
            json_valued.add(variable)
            continue
        nested = _model(annotation)
        if nested is not None:
            inner, open_inner, json_inner = _names(nested, variable + "__")
            exact |= inner
            open_prefixes |= open_inner
            json_valued |= json_inner
        elif _is_collection(annotation):
            json_valued.add(variable)
    return exact, open_prefixes, json_valued


def known_variables(
    sections: Mapping[str, type[BaseModel]] | None = None,
) -> tuple[frozenset[str], frozenset[str]]:
    """Every ``SAASKIT_*`` name the settings read, and the prefixes of free-form ones.

    Args:
        sections: features' settings sections by name (``SAASKIT_<NAME>__*``).
    """
    exact, open_prefixes, _ = _names(SaaSKitSettings, PREFIX)
    for name, model in (sections or {}).items():
        variable = PREFIX + name.upper()
        inner, open_inner, _ = _names(model, variable + "__")
        exact |= {variable} | inner
        open_prefixes |= open_inner
    return frozenset(exact), frozenset(open_prefixes)


def not_json(values: Mapping[str, str], field: str | None = None) -> list[str]:
    """The JSON-valued variables among ``values`` (name → text) whose text is not JSON.

    Args:
        values: the ``SAASKIT_*`` variables set (environment and ``.env``).
        field: only those under this top-level setting (e.g. ``cors``).
    """
    _, _, json_valued = _names(SaaSKitSettings, PREFIX)
    start = PREFIX + (field.upper() if field else "")
    bad: list[str] = []
    for name, text in sorted(values.items()):
        if name.upper() in json_valued and name.upper().startswith(start):
            try:
                json.loads(text)
            except ValueError:
                bad.append(name)
    return bad


def unknown_variables(
    names: Iterable[str], sections: Mapping[str, type[BaseModel]] | None = None
) -> list[tuple[str, str | None]]:
    """Each ``SAASKIT_*`` name no setting reads, with the closest known name (or ``None``).

    Args:
        names: the variable names set.
        sections: features' settings sections by name, whose variables are known too.
    """
    exact, open_prefixes = known_variables(sections)
    found: list[tuple[str, str | None]] = []
    for name in sorted(set(names)):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper.startswith(NOT_SETTINGS):
            continue
        if upper in exact or any(upper.startswith(prefix) for prefix in open_prefixes):
            continue
        # Compared without the common prefix, which would make every name look close.
        tails = {known.removeprefix(PREFIX): known for known in exact}
        close = difflib.get_close_matches(upper.removeprefix(PREFIX), tails, n=1, cutoff=0.7)
        found.append((name, tails[close[0]] if close else None))
    return found


def describe_unknown(name: str, suggestion: str | None) -> str:
    """One line about an unknown variable, with the suggestion."""
    hint = f"; did you mean {suggestion}?" if suggestion else "; no setting reads it"
    return f"{name} is not a saaskit setting{hint}"


def configured(environ: Mapping[str, str], env_file: Path | None = None) -> dict[str, str]:
    """The ``SAASKIT_*`` variables set in ``env_file`` (``.env``) and ``environ`` (which wins)."""
    found: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        from dotenv import dotenv_values

        found |= {k: v or "" for k, v in dotenv_values(env_file).items()}
    found |= dict(environ)
    return {name: value for name, value in found.items() if name.upper().startswith(PREFIX)}


def placeholder_secrets(settings: SaaSKitSettings) -> list[str]:
    """The secret settings whose value is a documentation placeholder (``sk_test_...``)."""
    found: list[str] = []

    def visit(model: BaseModel, prefix: str) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            variable = prefix + name.upper()
            if isinstance(value, SecretStr):
                if _PLACEHOLDER.search(value.get_secret_value()):
                    found.append(variable)
            elif isinstance(value, BaseModel):
                visit(value, variable + "__")

    visit(settings, PREFIX)
    return found


def warn_unknown_variables(
    environ: Mapping[str, str] | None = None,
    sections: Mapping[str, type[BaseModel]] | None = None,
) -> list[str]:
    """Log a warning for each ``SAASKIT_*`` variable no setting reads (a typo, most often).

    Each name is warned about once per process; returns the lines logged this time.

    Args:
        environ: the variables (default: ``os.environ``, then ``.env``).
        sections: features' settings sections by name (their variables are known).
    """
    values = configured(os.environ if environ is None else environ, Path(".env"))
    lines: list[str] = []
    for name, suggestion in unknown_variables(values, sections):
        if name not in _warned:
            _warned.add(name)
            lines.append(describe_unknown(name, suggestion))
            logger.warning(lines[-1])
    return lines

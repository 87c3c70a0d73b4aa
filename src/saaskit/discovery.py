"""Finding the host's app (and kit) from the project layout.

A project names them in ``pyproject.toml``::

    [tool.saaskit]
    app = "app.main:app"
    kit = "app.main:kit"

Without that, the layout ``saaskit init`` makes is assumed: ``app/main.py`` defining ``app``.
"""

from __future__ import annotations

import ast
import importlib
import sys
import tomllib
from pathlib import Path
from typing import Any

DEFAULT_MODULE = Path("app") / "main.py"
DEFAULT_APP = "app.main:app"


class DiscoveryError(Exception):
    """The project does not say where its app or kit is, or the name cannot be loaded."""


def configured(key: str, directory: Path) -> str | None:
    """The ``[tool.saaskit]`` value ``key`` in ``directory/pyproject.toml``, if any."""
    path = directory / "pyproject.toml"
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise DiscoveryError(f"{path} is not valid TOML: {error}") from error
    value = data.get("tool", {}).get("saaskit", {}).get(key)
    if value is None:
        return None
    if not isinstance(value, str) or ":" not in value:
        raise DiscoveryError(
            f'[tool.saaskit] {key} in {path} must be an import string like "app.main:{key}"'
        )
    return value


def find_app(directory: Path) -> str | None:
    """The import string of the host's ASGI app, or ``None`` when nothing names one."""
    named = configured("app", directory)
    if named:
        return named
    module = directory / DEFAULT_MODULE
    if module.is_file() and _defines(module, "app"):
        return DEFAULT_APP
    return None


def _defines(path: Path, name: str) -> bool:
    """Whether the module at ``path`` binds ``name`` at top level (read, not imported)."""
    try:
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError):
        return False
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                return True
            continue
        elif isinstance(node, ast.Import | ast.ImportFrom):
            if any((alias.asname or alias.name) == name for alias in node.names):
                return True
            continue
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
    return False


def import_object(import_string: str, directory: Path) -> Any:
    """Import ``"package.module:attribute"`` with ``directory`` on ``sys.path``.

    Raises:
        DiscoveryError: the string is malformed, or the module or attribute is missing.
    """
    module_name, _, attribute = import_string.partition(":")
    if not module_name or not attribute:
        raise DiscoveryError(f'{import_string!r} is not an import string like "app.main:kit"')
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and (module_name + ".").startswith(error.name + "."):
            raise DiscoveryError(f"cannot import module {module_name!r}") from error
        raise
    value: Any = module
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError as error:
            raise DiscoveryError(
                f"module {module_name!r} has no attribute {attribute!r}"
            ) from error
    return value

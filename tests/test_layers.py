"""saaskit's packages form a directed graph: no package imports one that imports it back.

import-linter (``lint-imports`` in CI, the ``layers`` contract in ``pyproject.toml``)
checks the order of the layers; this test checks the whole graph for cycles, including
between siblings that the contract lets import each other, and needs nothing but the
standard library. Imports inside functions and under ``if TYPE_CHECKING:`` count: a
cycle hidden in either is still a cycle.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import saaskit

SOURCE = Path(saaskit.__file__).parent


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "saaskit" and len(parts) > 1 else None


def _module_name(path: Path) -> str:
    relative = path.relative_to(SOURCE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def _parse(source: str) -> ast.Module:
    """``ast.parse``, tried again after CPython gh-106905 (fixed in 3.11.8).

    On 3.11.7 and older, another thread formatting a traceback (it parses source to
    place its carets) at the same moment makes this thread's parse raise ``SystemError:
    AST constructor recursion depth mismatch``: a leftover server thread of an earlier
    test is enough.
    """
    for _ in range(4):
        try:
            return ast.parse(source)
        except SystemError as error:
            if "recursion depth mismatch" not in str(error):
                raise
    return ast.parse(source)


def _imported(path: Path) -> set[str]:
    """Every saaskit module ``path`` imports, wherever the import statement is."""
    tree = _parse(path.read_text(encoding="utf-8"))
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("saaskit.")}


def package_graph() -> dict[str, set[str]]:
    """Which top-level saaskit packages (or modules) each one imports."""
    graph: dict[str, set[str]] = {}
    for path in SOURCE.rglob("*.py"):
        if "templates" in path.parts:
            continue
        source = _package_of(_module_name(path))
        if source is None:
            continue
        targets = graph.setdefault(source, set())
        for name in _imported(path):
            target = _package_of(name)
            if target is not None and target != source:
                targets.add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_no_saaskit_package_imports_a_package_that_imports_it_back() -> None:
    cycle = find_cycle(package_graph())
    assert cycle is None, "package import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_cycle_through_three_packages() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_database_package_imports_only_the_foundation() -> None:
    assert package_graph()["db"] <= {"exceptions", "settings"}


def test_the_shared_types_import_no_feature_and_no_web_framework() -> None:
    assert package_graph()["types"] <= {"db"}
    assert not any(
        name.split(".")[0] in {"fastapi", "starlette"} for name in _all_imports(SOURCE / "types.py")
    )


def _all_imports(path: Path) -> set[str]:
    tree = _parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        ("saaskit.users.cache", "UserT", "saaskit.types"),
        ("saaskit.auth.client", "ClientInfo", "saaskit.types"),
        ("saaskit.users.schemas", "Page", "saaskit.types"),
        ("saaskit.billing.types", "SubscriptionState", "saaskit.types"),
        ("saaskit.billing.types", "PaymentFailure", "saaskit.types"),
        ("saaskit.auth.schemas", "Accepted", "saaskit.users.schemas"),
        ("saaskit.db", "build_models", "saaskit.tables"),
        ("saaskit.db", "KitModels", "saaskit.tables"),
    ],
)
def test_names_that_moved_are_still_importable_from_their_old_module(
    old: str, name: str, new: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning on these paths
        moved = getattr(importlib.import_module(old), name)
    assert moved is getattr(importlib.import_module(new), name)


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        ("saaskit.db", "AuditEventMixin", "saaskit.audit.models"),
        ("saaskit.db.tables", "AuditEventMixin", "saaskit.audit.models"),
        ("saaskit.db.tables", "build_models", "saaskit.tables"),
        ("saaskit.db.tables", "KitModels", "saaskit.tables"),
    ],
)
def test_deprecated_paths_still_work_and_say_where_the_name_went(
    old: str, name: str, new: str
) -> None:
    with pytest.warns(DeprecationWarning, match=f"moved to {new}.{name}"):
        moved = getattr(importlib.import_module(old), name)
    assert moved is getattr(importlib.import_module(new), name)


def test_an_unknown_name_of_the_database_package_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        importlib.import_module("saaskit.db").nothing  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        importlib.import_module("saaskit.db.tables").nothing  # noqa: B018


def test_light_modules_load_neither_fastapi_nor_sqlalchemy() -> None:
    """What the package docstring promises: ``SaaSKit`` is imported on first access."""
    code = (
        "import sys, saaskit, saaskit.settings, saaskit.exceptions, saaskit.__about__\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'fastapi', 'sqlalchemy'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"

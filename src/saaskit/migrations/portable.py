"""Migrations that run on every database saaskit supports, whichever one generated them.

Alembic renders a server default such as ``true()`` or ``func.now()`` as SQL text of the
database it compares against (``sa.text('1')`` on SQLite, ``sa.text('now()')`` on
PostgreSQL), and that text fails on the other database. :func:`render_portable` renders
those defaults as SQLAlchemy expressions instead, which each database compiles its own way.

:func:`write_initial_migration` writes a project's first migration straight from its
metadata (what ``saaskit init`` does), rendered that way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.operations.ops import DowngradeOps, UpgradeOps
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.sql.elements import False_, True_
from sqlalchemy.sql.functions import FunctionElement

# Functions without arguments that SQLAlchemy compiles for SQLite and PostgreSQL alike.
PORTABLE_FUNCTIONS = frozenset({"now", "current_timestamp", "current_date", "current_time"})


def render_portable(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """An Alembic ``render_item`` hook: portable server defaults, else Alembic's rendering.

    Example:
        ```python
        context.configure(connection=connection, target_metadata=metadata,
                          render_item=render_portable)
        ```
    """
    if type_ != "server_default" or not isinstance(obj, sa.DefaultClause):
        return False
    prefix = autogen_context.opts.get("sqlalchemy_module_prefix") or "sa."
    value = obj.arg
    if isinstance(value, True_):
        return f"{prefix}true()"
    if isinstance(value, False_):
        return f"{prefix}false()"
    if (
        isinstance(value, FunctionElement)
        and value.name.lower() in PORTABLE_FUNCTIONS
        and not list(value.clauses)
    ):
        return f"{prefix}func.{value.name.lower()}()"
    return False


def _render(ops: UpgradeOps | DowngradeOps, imports: set[str]) -> str:
    """Python code of ``ops`` for PostgreSQL (the production database) with portable defaults."""

    def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
        contexts.append(autogen_context)
        return render_portable(type_, obj, autogen_context)

    contexts: list[AutogenContext] = []
    code = render_python_code(
        ops,
        render_item=render_item,
        migration_context=MigrationContext.configure(dialect_name="postgresql"),
    )
    for context in contexts:  # types from other modules add the imports they need
        imports.update(context.imports)
    return code


def write_initial_migration(
    config: Config, metadata: sa.MetaData, *, rev_id: str = "0001", message: str = "initial"
) -> Path:
    """Write the migration that creates every table of ``metadata`` from an empty database.

    The operations are exactly those ``alembic revision --autogenerate`` finds against an
    empty database; only the rendering differs (portable server defaults, no batch mode).

    Args:
        config: the project's Alembic config (its ``script_location`` must exist).
        metadata: the project's metadata: its tables and saaskit's.
        rev_id: the revision id (the file is named ``{rev_id}_{message}.py``).
        message: the revision message.

    Returns:
        The path of the migration file.
    """
    engine = sa.create_engine("sqlite://")  # an empty database, compared in memory
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"target_metadata": metadata})
            script = produce_migrations(context, metadata)
    finally:
        engine.dispose()
    if script.upgrade_ops is None or script.downgrade_ops is None:  # pragma: no cover
        raise RuntimeError("Alembic produced no operations")
    imports: set[str] = set()
    upgrades = _render(script.upgrade_ops, imports)
    downgrades = _render(script.downgrade_ops, imports)
    revision = ScriptDirectory.from_config(config).generate_revision(
        rev_id,
        message,
        head="base",
        upgrades=upgrades,
        downgrades=downgrades,
        imports="\n".join(sorted(imports)),
    )
    if revision is None:  # pragma: no cover - only when a hook cancels the revision
        raise RuntimeError("Alembic wrote no initial migration")
    return Path(revision.path)

"""Bring stored email addresses to the canonical form of :func:`saaskit.db.normalize_email`.

Addresses stored before saaskit applied NFKC were only lower-cased, so a table may hold
``alice@example.com`` spelt with a fullwidth ``a`` (U+FF41) next to the ASCII one. Once lookups use
NFKC, a login as either reaches only the row already in canonical form.
:func:`normalize_stored_emails` rewrites every row whose canonical form no other row has,
and reports the rest for an operator to resolve. saaskit's own migration
``0005_normalize_emails`` calls it on ``users``; a host with its own Alembic history calls it
from a migration of its own::

    from alembic import op
    from saaskit.migrations.emails import normalize_stored_emails

    def upgrade() -> None:
        normalize_stored_emails(op.get_bind(), table="users")

    def downgrade() -> None:
        pass  # the canonical forms stay valid, and the old spellings are not kept
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from saaskit.db.mixins import normalize_email
from saaskit.users.emails import script_mix

# Alembic's own logger: what `alembic upgrade` and `saaskit migrate` show.
logger = logging.getLogger("alembic.runtime.migration")

_BATCH = 500


@dataclass(frozen=True)
class EmailReport:
    """What :func:`normalize_stored_emails` found (and, unless a dry run, did).

    Attributes:
        rewrites: id → canonical form, for rows rewritten (or to rewrite, in a dry run).
        collisions: canonical form → {id: stored address} for every group of rows that
            share a canonical form; these rows are left unchanged.
        mixed_scripts: id → stored address, for addresses whose local part mixes scripts
            (such as Latin and Cyrillic). They keep working; new ones are refused.
    """

    rewrites: dict[Any, str] = field(default_factory=dict)
    collisions: dict[str, dict[Any, str]] = field(default_factory=dict)
    mixed_scripts: dict[Any, str] = field(default_factory=dict)


def normalize_stored_emails(
    connection: Connection,
    *,
    table: str = "users",
    id_column: str = "id",
    email_column: str = "email",
    schema: str | None = None,
    rewrite: bool = True,
) -> EmailReport:
    """Rewrite stored addresses to their canonical form where that is safe; report the rest.

    A row is rewritten only when no other row has, or would get, the same canonical form,
    so the unique index on the column is never violated. Each group of rows that would
    collide is left unchanged and logged as a WARNING on Alembic's logger, with the ids and
    the stored addresses (escaped, so look-alikes can be told apart): merge or rename them,
    then run the check again. Until then a login reaches only the row of the group that is
    already canonical, if any. Addresses that mix scripts are logged as a WARNING too.

    The table is read once, in batches; only rows that change are kept in memory.

    Args:
        connection: a synchronous connection, inside a transaction (``op.get_bind()``).
        table: the user table.
        id_column: its primary key.
        email_column: its email column.
        schema: the table's schema, if not the default one.
        rewrite: ``False`` reports without writing (a dry run).

    Returns:
        What was found; ``rewrites`` are applied unless ``rewrite`` is false.
    """
    users = sa.table(table, sa.column(id_column), sa.column(email_column), schema=schema)
    row_id, email = users.c[id_column], users.c[email_column]
    report = _scan(connection, row_id, email)
    if rewrite:
        # Idempotence of normalize_email means no rewritten value equals another row's
        # current value, so the order of the updates cannot trip the unique index.
        for key, canonical in report.rewrites.items():
            connection.execute(sa.update(users).where(row_id == key).values({email: canonical}))
    _log(report, f"{table}.{email_column}", rewrite)
    return report


def _scan(
    connection: Connection, row_id: sa.ColumnClause[Any], email: sa.ColumnClause[Any]
) -> EmailReport:
    report = EmailReport()
    changed: dict[str, dict[Any, str]] = defaultdict(dict)  # canonical -> {id: stored}
    # Streamed in batches. The option is set per statement: Connection.execution_options()
    # would change the connection itself, and every later statement (Alembic's version
    # update too) would then run on a server-side cursor and report no row count.
    rows = connection.execute(
        sa.select(row_id, email).order_by(row_id), execution_options={"yield_per": _BATCH}
    )
    for key, stored in rows:
        if stored is None:
            continue
        canonical = normalize_email(stored)
        if canonical != stored:
            changed[canonical][key] = stored
        if not stored.isascii() and script_mix(canonical.rpartition("@")[0]):
            report.mixed_scripts[key] = stored
    # A row already in canonical form collides with the rows that would become it.
    for chunk in _chunks(list(changed)):
        for key, stored in connection.execute(sa.select(row_id, email).where(email.in_(chunk))):
            changed[stored][key] = stored
    for canonical, group in changed.items():
        if len(group) > 1:
            report.collisions[canonical] = dict(sorted(group.items()))
        else:
            report.rewrites[next(iter(group))] = canonical
    return report


def _chunks(values: list[str]) -> Iterable[list[str]]:
    # Bounded IN lists: SQLite allows 32766 parameters, and long lists plan badly.
    return (values[start : start + _BATCH] for start in range(0, len(values), _BATCH))


def _ids(keys: Iterable[Any]) -> str:
    return ", ".join(str(key) for key in keys)


def _addresses(count: int) -> str:
    return f"{count} address" if count == 1 else f"{count} addresses"


def _log(report: EmailReport, where: str, rewrite: bool) -> None:
    if report.rewrites:
        verb = "rewrote" if rewrite else "would rewrite"
        logger.info(
            "%s: %s %s to their canonical form (NFKC, lower case): ids %s",
            where,
            verb,
            _addresses(len(report.rewrites)),
            _ids(report.rewrites),
        )
    for canonical, group in report.collisions.items():
        logger.warning(
            "%s: ids %s (%s) all become %s after NFKC normalisation and were left unchanged; "
            "until they are merged or renamed, a login as any of them reaches only the one "
            "already in that form, if any",
            where,
            _ids(group),
            ", ".join(ascii(stored) for stored in group.values()),
            ascii(canonical),
        )
    if report.mixed_scripts:
        logger.warning(
            "%s: %s with mixed scripts, like Latin and Cyrillic (ids %s: %s); they keep "
            "working, but new addresses like them are refused: check that none passes for "
            "another account",
            where,
            _addresses(len(report.mixed_scripts)),
            _ids(report.mixed_scripts),
            ", ".join(ascii(stored) for stored in report.mixed_scripts.values()),
        )

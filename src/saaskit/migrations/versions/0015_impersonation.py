"""Impersonation: audit events name the superuser acting as a user.

Expand only (one nullable column and its index on audit_events).

Revision ID: 0015_impersonation
Revises: 0014_passkeys
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_impersonation"
down_revision: str | None = "0014_passkeys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("impersonator_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_audit_events_impersonator_id"), "audit_events", ["impersonator_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_events_impersonator_id"), table_name="audit_events")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("impersonator_id")

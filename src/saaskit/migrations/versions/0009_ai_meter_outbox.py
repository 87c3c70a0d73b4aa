"""Usage-based billing: the ai_meter_outbox table (AI usage waiting for Stripe meters).

Expand only (one new table); a host with its own Alembic history sees it in
``alembic check`` once it upgrades saaskit (see the upgrade notes in CHANGELOG.md).

Revision ID: 0009_ai_meter_outbox
Revises: 0008_ai_member_usage
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_ai_meter_outbox"
down_revision: str | None = "0008_ai_member_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ai_meter_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_kind", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("event_name", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_meter_outbox")),
    )
    op.create_index(
        "ix_ai_meter_outbox_status_next",
        "ai_meter_outbox",
        ["status", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_ai_meter_outbox_status_next", table_name="ai_meter_outbox")
    op.drop_table("ai_meter_outbox")

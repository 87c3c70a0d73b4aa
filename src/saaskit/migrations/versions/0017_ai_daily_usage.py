"""AI usage per day: the ai_daily_usage table (tokens per owner, model and UTC day).

Expand only (one new table, filled from the next AI call on: past days are not
rebuilt, the monthly ``ai_usage`` rows have no days); a host with its own Alembic
history sees it in ``alembic check`` once it upgrades saaskit (see the upgrade notes in
CHANGELOG.md).

Revision ID: 0017_ai_daily_usage
Revises: 0016_oauth_tokens
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_ai_daily_usage"
down_revision: str | None = "0016_oauth_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ai_daily_usage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_kind", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ai_daily_usage_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_daily_usage")),
        sa.UniqueConstraint(
            "owner_kind",
            "owner_id",
            "day",
            "model",
            name=op.f("uq_ai_daily_usage_owner_kind_owner_id_day_model"),
        ),
    )
    op.create_index("ix_ai_daily_usage_day", "ai_daily_usage", ["day"], unique=False)
    # Deleting a user (ON DELETE CASCADE) and their data export find their rows by it.
    op.create_index("ix_ai_daily_usage_user_id", "ai_daily_usage", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ai_daily_usage_user_id", table_name="ai_daily_usage")
    op.drop_index("ix_ai_daily_usage_day", table_name="ai_daily_usage")
    op.drop_table("ai_daily_usage")

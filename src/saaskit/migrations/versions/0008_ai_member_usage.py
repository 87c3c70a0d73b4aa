"""Pooled AI quotas: the ai_member_usage table (an organization's AI usage per member).

Expand only (one new table); a host with its own Alembic history sees it in
``alembic check`` once it upgrades saaskit (see the upgrade notes in CHANGELOG.md).

Revision ID: 0008_ai_member_usage
Revises: 0007_organizations
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_ai_member_usage"
down_revision: str | None = "0007_organizations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ai_member_usage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_kind", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
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
            name=op.f("fk_ai_member_usage_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_member_usage")),
        sa.UniqueConstraint(
            "owner_kind",
            "owner_id",
            "month",
            "user_id",
            "model",
            name=op.f("uq_ai_member_usage_owner_kind_owner_id_month_user_id_model"),
        ),
    )


def downgrade() -> None:
    op.drop_table("ai_member_usage")

"""Privacy: the privacy_exports and privacy_deletions tables.

Expand only (two new tables).

Revision ID: 0011_privacy
Revises: 0010_api_keys
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_privacy"
down_revision: str | None = "0010_api_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_exports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=43), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_privacy_exports_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_exports")),
        sa.UniqueConstraint("public_id", name=op.f("uq_privacy_exports_public_id")),
    )
    op.create_index(op.f("ix_privacy_exports_status"), "privacy_exports", ["status"])
    op.create_index(op.f("ix_privacy_exports_expires_at"), "privacy_exports", ["expires_at"])
    op.create_index(op.f("ix_privacy_exports_user_id"), "privacy_exports", ["user_id"])
    op.create_table(
        "privacy_deletions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erase_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("restore_token_hash", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_deletions")),
        sa.UniqueConstraint(
            "restore_token_hash", name=op.f("uq_privacy_deletions_restore_token_hash")
        ),
    )
    op.create_index(op.f("ix_privacy_deletions_user_id"), "privacy_deletions", ["user_id"])
    op.create_index(op.f("ix_privacy_deletions_status"), "privacy_deletions", ["status"])
    op.create_index(op.f("ix_privacy_deletions_erase_after"), "privacy_deletions", ["erase_after"])


def downgrade() -> None:
    op.drop_table("privacy_deletions")
    op.drop_table("privacy_exports")

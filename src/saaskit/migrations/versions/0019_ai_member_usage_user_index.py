"""AI usage per member: an index on user_id.

Deleting a user sets ``ai_member_usage.user_id`` to ``NULL`` (``ON DELETE SET NULL``), and
PostgreSQL does not index a referencing column by itself: without this index every user
deletion scanned the whole table (its unique key starts with the owner, not the member).

Revision ID: 0019_ai_member_usage_user_index
Revises: 0018_deletion_prior_state
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019_ai_member_usage_user_index"
down_revision: str | None = "0018_deletion_prior_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ai_member_usage_user_id", "ai_member_usage", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ai_member_usage_user_id", table_name="ai_member_usage")

"""Privacy: a scheduled deletion records whether the account was active before it.

Expand only (one nullable column on privacy_deletions). A restore puts that state back
instead of always re-activating, so a deactivated (banned) account that a superuser
deletes stays deactivated if restored. ``NULL``, on the rows scheduled before this
revision, counts as active (what a restore did before).

Revision ID: 0018_deletion_prior_state
Revises: 0017_ai_daily_usage
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_deletion_prior_state"
down_revision: str | None = "0017_ai_daily_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("privacy_deletions") as batch:
        batch.add_column(sa.Column("was_active", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("privacy_deletions") as batch:
        batch.drop_column("was_active")

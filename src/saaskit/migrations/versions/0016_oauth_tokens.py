"""OAuth login: columns for provider tokens kept sealed (SAASKIT_OAUTH__STORE_PROVIDER_TOKENS).

Expand only (four nullable columns on oauth_accounts; empty unless the setting is on).

Revision ID: 0016_oauth_tokens
Revises: 0015_impersonation
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_oauth_tokens"
down_revision: str | None = "0015_impersonation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_accounts") as batch:
        batch.add_column(sa.Column("access_token", sa.Text(), nullable=True))
        batch.add_column(sa.Column("refresh_token", sa.Text(), nullable=True))
        batch.add_column(sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("token_scope", sa.String(length=1024), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_accounts") as batch:
        batch.drop_column("token_scope")
        batch.drop_column("token_expires_at")
        batch.drop_column("refresh_token")
        batch.drop_column("access_token")

"""Email addresses in canonical form (NFKC, lower case); collisions reported, not merged.

Revision ID: 0005_normalize_emails
Revises: 0004_ai_usage
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import context, op

from saaskit.migrations.emails import logger, normalize_stored_emails

revision: str = "0005_normalize_emails"
down_revision: str | None = "0004_ai_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if context.is_offline_mode():
        # The canonical form is computed in Python (NFKC), so there is no SQL to render.
        logger.warning(
            "0005_normalize_emails: stored email addresses are not normalised in offline "
            "mode; run this revision against the database (saaskit migrate)"
        )
        return
    normalize_stored_emails(op.get_bind(), table="users")


def downgrade() -> None:
    # Nothing to undo: every rewritten address is a valid, lower-cased address that older
    # versions look up as before, and the spellings it replaced are not kept.
    pass

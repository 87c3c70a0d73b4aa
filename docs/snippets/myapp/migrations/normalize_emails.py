"""A revision of the host's own Alembic history: stored emails in saaskit's canonical form.

docs/getting-started.md shows the part between the markers. tests/docs/test_snippets.py
runs this file as the newest revision of myapp's history.
"""

# --8<-- [start:revision]
from alembic import op

from saaskit.migrations.emails import normalize_stored_emails


def upgrade() -> None:
    # Rewrites each address whose canonical form no other row has; logs every group that
    # would collide as a WARNING and leaves those rows as they are, for you to resolve.
    normalize_stored_emails(op.get_bind(), table="users")


def downgrade() -> None:
    # Nothing to undo: the rewritten addresses are valid, lower-cased addresses that older
    # saaskit versions look up as before, and the spellings they replaced are not kept.
    pass


# --8<-- [end:revision]

# Written by `alembic revision` for your history (the test sets down_revision to myapp's head).
revision = "normalize_emails"
down_revision: str | None = None
branch_labels = None
depends_on = None

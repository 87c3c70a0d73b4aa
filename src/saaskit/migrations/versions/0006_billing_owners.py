"""Billing owners: billing_customers, and owner columns on subscriptions and ai_usage.

Expand only: nothing an older kit reads or writes is dropped, so instances still on the
previous release keep working while this one rolls out (see docs/billing.md, "Owners").

Revision ID: 0006_billing_owners
Revises: 0005_normalize_emails
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from saaskit.migrations.owners import copy_back_to_users, copy_to_owners, logger

revision: str = "0006_billing_owners"
down_revision: str | None = "0005_normalize_emails"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "billing_customers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_kind", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_customers")),
        sa.UniqueConstraint(
            "owner_kind", "owner_id", name=op.f("uq_billing_customers_owner_kind_owner_id")
        ),
    )
    op.create_index(
        op.f("ix_billing_customers_stripe_customer_id"),
        "billing_customers",
        ["stripe_customer_id"],
        unique=True,
    )
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(
            sa.Column("owner_kind", sa.String(length=32), server_default="user", nullable=True)
        )
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.create_index("ix_subscriptions_owner_kind_owner_id", ["owner_kind", "owner_id"])
    with op.batch_alter_table("ai_usage") as batch:
        batch.add_column(
            sa.Column("owner_kind", sa.String(length=32), server_default="user", nullable=True)
        )
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch.create_unique_constraint(
            op.f("uq_ai_usage_owner_kind_owner_id_month_model"),
            ["owner_kind", "owner_id", "month", "model"],
        )
    if context.is_offline_mode():
        logger.warning("0006_billing_owners: run saaskit.migrations.owners.copy_to_owners")
        return
    copy_to_owners(op.get_bind())


def downgrade() -> None:
    if not context.is_offline_mode():
        copy_back_to_users(op.get_bind())
    with op.batch_alter_table("ai_usage") as batch:
        batch.drop_constraint(op.f("uq_ai_usage_owner_kind_owner_id_month_model"), type_="unique")
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("owner_id")
        batch.drop_column("owner_kind")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_index("ix_subscriptions_owner_kind_owner_id")
        batch.drop_column("owner_id")
        batch.drop_column("owner_kind")
    op.drop_index(op.f("ix_billing_customers_stripe_customer_id"), table_name="billing_customers")
    op.drop_table("billing_customers")

"""Migration 0006_billing_owners on a database with billing data, on the backend under
test: customers and usage keep their owners, an older kit's writes still work after it,
and the downgrade gives the old schema its data back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from saaskit.migrations import packaged_config
from saaskit.migrations.owners import copy_to_owners
from tests.databases import scratch_database
from tests.migrations.helpers import run_sql as run


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    with scratch_database(tmp_path, "owners") as url:
        yield url


def seed(url: str) -> None:
    run(
        url,
        "INSERT INTO users (id, email, hashed_password, stripe_customer_id) "
        "VALUES (:id, :email, 'x', :customer)",
        [
            {"id": 1, "email": "a@example.com", "customer": "cus_a"},
            {"id": 2, "email": "b@example.com", "customer": None},
        ],
    )
    run(
        url,
        "INSERT INTO subscriptions (stripe_subscription_id, stripe_customer_id, status, "
        "quantity, user_id) VALUES (:sub, :cus, 'active', 1, :user)",
        [
            {"sub": "sub_a", "cus": "cus_a", "user": 1},
            {"sub": "sub_x", "cus": "cus_x", "user": None},
        ],
    )
    run(
        url,
        "INSERT INTO ai_usage (user_id, month, model, prompt_tokens, completion_tokens, requests) "
        "VALUES (1, '2026-11', 'gpt-4o-mini', 100, 20, 3)",
    )


def test_upgrade_keeps_every_owner_and_downgrade_restores_the_old_columns(
    scratch_url: str,
) -> None:
    config = packaged_config(scratch_url)
    command.upgrade(config, "0005_normalize_emails")
    seed(scratch_url)

    command.upgrade(config, "0006_billing_owners")
    command.upgrade(config, "head")  # later revisions (organizations) add tables only
    command.check(config)  # the migrated schema is what the models declare

    assert run(
        scratch_url, "SELECT owner_kind, owner_id, stripe_customer_id FROM billing_customers"
    ) == [("user", 1, "cus_a")]
    subscriptions = run(
        scratch_url,
        "SELECT stripe_subscription_id, owner_kind, owner_id, user_id FROM subscriptions "
        "ORDER BY stripe_subscription_id",
    )
    assert subscriptions == [("sub_a", "user", 1, 1), ("sub_x", None, None, None)]
    assert run(scratch_url, "SELECT owner_kind, owner_id, user_id, requests FROM ai_usage") == [
        ("user", 1, 1, 3)
    ]

    # An older instance, still running during a rolling deploy, writes as it always did.
    run(
        scratch_url,
        "INSERT INTO ai_usage (user_id, month, model, prompt_tokens, completion_tokens, requests) "
        "VALUES (2, '2026-12', 'gpt-4o-mini', 1, 1, 1)",
    )
    run(scratch_url, "UPDATE users SET stripe_customer_id = 'cus_b' WHERE id = 2")
    # Organization usage, which the old schema cannot hold.
    run(
        scratch_url,
        "INSERT INTO ai_usage (owner_kind, owner_id, month, model, prompt_tokens, "
        "completion_tokens, requests) "
        "VALUES ('organization', 1, '2026-12', 'gpt-4o-mini', 5, 5, 1)",
    )
    assert run(scratch_url, "SELECT owner_kind FROM ai_usage WHERE user_id = 2") == [("user",)]

    command.downgrade(config, "0005_normalize_emails")
    assert run(scratch_url, "SELECT id, stripe_customer_id FROM users ORDER BY id") == [
        (1, "cus_a"),
        (2, "cus_b"),
    ]
    assert run(scratch_url, "SELECT user_id, requests FROM ai_usage ORDER BY user_id") == [
        (1, 3),
        (2, 1),
    ]
    assert len(run(scratch_url, "SELECT 1 FROM subscriptions")) == 2

    command.upgrade(config, "head")  # and up again, from the restored data
    assert run(
        scratch_url, "SELECT owner_id, stripe_customer_id FROM billing_customers ORDER BY owner_id"
    ) == [(1, "cus_a"), (2, "cus_b")]


def test_copying_again_after_a_rolling_deploy_fills_only_what_is_missing(scratch_url: str) -> None:
    config = packaged_config(scratch_url)
    command.upgrade(config, "head")
    seed(scratch_url)  # rows as an older kit writes them, after the migration

    async def copy() -> dict[str, int]:
        engine = create_async_engine(scratch_url)
        try:
            async with engine.begin() as connection:
                return await connection.run_sync(lambda c: copy_to_owners(c))
        finally:
            await engine.dispose()

    first, second = asyncio.run(copy()), asyncio.run(copy())
    assert first == {"billing_customers": 1, "subscriptions": 1, "ai_usage": 1}
    assert second == {"billing_customers": 0, "subscriptions": 0, "ai_usage": 0}
    assert len(run(scratch_url, "SELECT 1 FROM billing_customers")) == 1

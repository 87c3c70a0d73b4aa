"""A user served from the store cache behaves like one loaded from the database."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect

from saaskit import SaaSKit
from saaskit.models import User
from saaskit.users.cache import UserCodec
from tests.helpers import PASSWORD


def sample() -> User:
    return User(
        id=7,
        email="cached@example.com",
        hashed_password="secret-hash",
        full_name="Cached",
        is_active=True,
        is_superuser=False,
        is_verified=True,
        stripe_customer_id="cus_1",
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        updated_at=None,
    )


def test_round_trip_keeps_columns_but_not_the_hash() -> None:
    codec = UserCodec(User)
    raw = codec.encode(sample())
    assert b"secret-hash" not in raw
    user = codec.decode(raw)
    assert (user.id, user.email, user.full_name, user.stripe_customer_id) == (
        7,
        "cached@example.com",
        "Cached",
        "cus_1",
    )
    assert user.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert user.hashed_password == ""
    state = inspect(user)
    assert state.detached
    assert not state.modified


async def test_a_cached_user_can_be_changed_through_a_session(kit: SaaSKit[User]) -> None:
    created = await kit.users.create("cached@example.com", PASSWORD, full_name="Before")
    user = kit.users.cache.codec.decode(kit.users.cache.codec.encode(created))
    async with kit.session_factory() as db:
        db.add(user)
        user.full_name = "After"
        await db.commit()
    reloaded = await kit.users.get(created.id)
    assert reloaded is not None
    assert reloaded.full_name == "After"
    # The password hash was not overwritten by the cache's empty placeholder.
    assert reloaded.hashed_password == created.hashed_password

"""``created_at`` keeps microseconds on SQLite as on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import PASSWORD


async def test_created_at_keeps_microseconds_on_every_database(kit: SaaSKit[User]) -> None:
    for number in range(3):
        await kit.users.create(f"user{number}@example.com", PASSWORD)
    async with kit.session_factory() as db:
        stamps = list(await db.scalars(select(User.created_at).order_by(User.id)))
    assert len(stamps) == 3
    # Whole seconds three times over would mean the database's CURRENT_TIMESTAMP wrote them.
    assert any(stamp.microsecond for stamp in stamps)
    assert stamps == sorted(stamps)


async def test_updated_at_keeps_microseconds_too(kit: SaaSKit[User]) -> None:
    stamps = []
    for number in range(3):
        user = await kit.users.create(f"user{number}@example.com", PASSWORD)
        updated = await kit.users.update(user.id, {"full_name": "Renamed"})
        assert updated.updated_at is not None
        stamps.append(updated.updated_at)
    assert any(stamp.microsecond for stamp in stamps)

"""Copy the users of a fastapi-users database into a saaskit app (docs/faq.md).

Run once, after ``saaskit migrate`` created the new tables, e.g. from a script:
``asyncio.run(copy_users("postgresql+asyncpg://.../old", kit))``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from saaskit import SaaSKit
from saaskit.db import normalize_email

# --8<-- [start:copy]
# fastapi-users' SQLAlchemyBaseUserTable columns; add the columns of your own user table.
OLD_USERS = sa.table(
    "user",
    sa.column("id"),
    sa.column("email"),
    sa.column("hashed_password"),
    sa.column("is_active"),
    sa.column("is_superuser"),
    sa.column("is_verified"),
)


async def copy_users(source_url: str, kit: SaaSKit[Any]) -> dict[str, int]:
    """Insert every fastapi-users user into ``kit.user_model``; returns old id → new id.

    The password hashes are copied as they are: saaskit verifies bcrypt hashes (passlib,
    fastapi-users up to 12) and, with ``SAASKIT_AUTH__PASSWORD_HASHER=argon2``, argon2
    hashes (pwdlib, fastapi-users 13 and later). Nothing is written if two emails have the
    same canonical form (they differ only in case, or in fullwidth letters and the like),
    since saaskit stores that form under a unique index.
    """
    source = create_async_engine(source_url)
    try:
        async with source.connect() as connection:
            rows = (await connection.execute(sa.select(OLD_USERS))).all()
    finally:
        await source.dispose()

    clashes = [e for e, n in Counter(normalize_email(r.email) for r in rows).items() if n > 1]
    if clashes:
        raise ValueError(f"emails that are the same address: {', '.join(sorted(clashes))}")

    new_ids: dict[str, int] = {}
    async with kit.session_factory() as session, session.begin():
        for row in rows:
            user = kit.user_model(
                email=row.email,  # put in canonical form by UserMixin
                hashed_password=row.hashed_password,
                is_active=row.is_active,
                is_superuser=row.is_superuser,
                is_verified=row.is_verified,
            )
            session.add(user)
            await session.flush()  # assigns user.id
            new_ids[str(row.id)] = user.id
    return new_ids


# --8<-- [end:copy]

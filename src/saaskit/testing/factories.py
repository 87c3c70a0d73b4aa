"""Users and tokens for a host app's tests, made through the kit's own services.

The pytest plugin (:mod:`saaskit.testing.plugin`) wraps these in fixtures; they work on
any :class:`~saaskit.SaaSKit` too::

    users = UserMaker(kit)
    ada = await users.create(company="Analytical Engines")   # extra columns as keywords
    headers = await bearer_headers(kit, ada)                  # {"Authorization": "Bearer ..."}
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

from saaskit.kit import SaaSKit

TEST_PASSWORD = "correct horse battery staple"
"""The password of users made by :class:`UserMaker` unless another is given."""


class UserFactory(Protocol):
    """``await make_user(email=None, *, password=..., superuser=False, ...)``."""

    async def __call__(
        self,
        email: str | None = None,
        *,
        password: str = TEST_PASSWORD,
        full_name: str | None = None,
        superuser: bool = False,
        verified: bool = True,
        active: bool = True,
        **columns: Any,
    ) -> Any:
        """Create a user in the app's database; extra ``columns`` set host columns."""
        ...


class HeadersFactory(Protocol):
    """``await headers_for(user)``: an ``Authorization`` header of a new session."""

    async def __call__(self, user: Any) -> dict[str, str]:
        """Authorization headers of a new session of ``user``."""
        ...


class UserMaker:
    """Creates users with the kit's users service (password policy and hashing included).

    Args:
        kit: the kit whose user model and database are used.
        domain: emails made up for users without one are ``user{n}@{domain}``.
    """

    def __init__(self, kit: SaaSKit[Any], *, domain: str = "example.com") -> None:
        self.kit = kit
        self.domain = domain
        self._numbers = itertools.count(1)

    async def create(
        self,
        email: str | None = None,
        *,
        password: str = TEST_PASSWORD,
        full_name: str | None = None,
        superuser: bool = False,
        verified: bool = True,
        active: bool = True,
        **columns: Any,
    ) -> Any:
        """A new user; keyword arguments other than these set the host's own columns.

        Users are verified unless ``verified=False``: most routes under test expect that.
        """
        if email is None:
            email = f"user{next(self._numbers)}@{self.domain}"
        extra = {**columns, "is_active": active}
        return await self.kit.users.create(
            email,
            password,
            full_name=full_name,
            is_superuser=superuser,
            is_verified=verified,
            extra=extra,
        )

    __call__ = create


async def bearer_headers(kit: SaaSKit[Any], user: Any) -> dict[str, str]:
    """Open a session for ``user`` and return its access token as a header.

    As a login would, without the password: ``{"Authorization": "Bearer ..."}``.
    """
    session, jti = await kit.sessions.open(user.id, ip="127.0.0.1", user_agent="saaskit-tests")
    tokens = kit.auth.issue(session, jti)
    return {"Authorization": f"Bearer {tokens.access_token}"}

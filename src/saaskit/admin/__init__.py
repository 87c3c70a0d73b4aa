"""The admin console: a web admin for superusers, mounted by the host (``/admin``).

Built on SQLAdmin (``pip install 'saaskit[admin]'``), imported only when the console is
mounted::

    from saaskit.admin import mount_admin

    mount_admin(kit, app)  # /admin: its own login, superusers only

See ``docs/admin.md``. The console's own rules (who may log in, CSRF, the audit of every
change) live in :mod:`saaskit.admin.console` and :mod:`saaskit.admin.security`; its pages
read through :mod:`saaskit.admin.stats` and draw with :mod:`saaskit.admin.charts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from saaskit.exceptions import require_module

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["SecondFactor", "mount_admin"]


class SecondFactor(Protocol):
    """The console's hook for a second factor (TOTP, ...), given to :func:`mount_admin`.

    With one, a superuser for whom :meth:`required` is true must also type a valid code at
    the console's login; :meth:`reset` (when the object has it) adds "Reset 2FA" to a
    user's page. The kit's 2FA feature provides one; any object with these methods works.
    """

    async def required(self, user: Any) -> bool:
        """Whether ``user`` has a second factor to prove at login."""
        ...

    async def verify(self, user: Any, code: str) -> bool:
        """Whether ``code`` proves ``user``'s second factor (and consume it if single-use)."""
        ...


def mount_admin(
    kit: Any,
    app: Starlette,
    *,
    path: str = "/admin",
    title: str = "saaskit admin",
    session_minutes: int = 60,
    allowed_origins: Sequence[str] = (),
    second_factor: SecondFactor | None = None,
) -> Any:
    """Mount the admin console on ``app`` at ``path``.

    Args:
        kit: the app's :class:`saaskit.SaaSKit`.
        app: the FastAPI (or Starlette) app.
        path: where it is mounted.
        title: the console's title.
        session_minutes: how long a console login lasts (absolute).
        allowed_origins: origins besides the console's own that may send its forms (a
            proxy that rewrites the host); ``https://admin.example.com``.
        second_factor: the second factor superusers prove at login (see
            :class:`SecondFactor`); default: the kit's 2FA when it is on
            (:class:`saaskit.admin.mfa.KitSecondFactor`).

    Returns:
        The :class:`sqladmin.Admin` (add the host's own views with ``add_view``).

    Raises:
        MissingExtra: SQLAdmin is not installed (``pip install 'saaskit[admin]'``).
    """
    require_module("sqladmin", "admin")
    from saaskit.admin.console import build_console

    if second_factor is None and kit.features.built("mfa") is not None:
        from saaskit.admin.mfa import KitSecondFactor

        second_factor = KitSecondFactor(kit.features.built("mfa"))

    return build_console(
        kit,
        app,
        path=path,
        title=title,
        session_minutes=session_minutes,
        allowed_origins=allowed_origins,
        second_factor=second_factor,
    )

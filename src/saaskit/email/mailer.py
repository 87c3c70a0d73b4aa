"""The emails saaskit sends, as methods: verification, password reset, and notices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from saaskit.email.rendering import EmailRenderer, build_link
from saaskit.email.sender import EmailSender
from saaskit.settings import EmailSettings


class Mailer:
    """Renders and sends each kind of email; no HTTP involved.

    Links point at ``settings.frontend_url`` plus ``verify_path`` / ``reset_path``;
    they are never derived from an incoming request. Every method raises
    :class:`~saaskit.exceptions.EmailDeliveryError` when the sender fails.

    Args:
        sender: how emails leave (SMTP, console, memory).
        renderer: the templates.
        settings: the frontend URL and page paths.

    Example:
        ```python
        mailer = Mailer(MemorySender(), EmailRenderer(settings.email), settings.email)
        await mailer.send_verification("alice@example.com", token, name="Alice")
        ```
    """

    def __init__(
        self, sender: EmailSender, renderer: EmailRenderer, settings: EmailSettings
    ) -> None:
        self.sender = sender
        self.renderer = renderer
        self.settings = settings

    def verification_link(self, token: str) -> str:
        """The verification link: ``{frontend_url}{verify_path}?token=...``."""
        return build_link(self.settings.frontend_url, self.settings.verify_path, token)

    def reset_link(self, token: str) -> str:
        """The password-reset link: ``{frontend_url}{reset_path}?token=...``."""
        return build_link(self.settings.frontend_url, self.settings.reset_path, token)

    def change_email_link(self, token: str) -> str:
        """The email-change link: ``{frontend_url}{change_email_path}?token=...``."""
        return build_link(self.settings.frontend_url, self.settings.change_email_path, token)

    async def send(self, kind: str, to: str, context: Mapping[str, Any] | None = None) -> None:
        """Render the templates of ``kind`` (a built-in one or the host's own) and send."""
        await self.sender.send(self.renderer.render(kind, to, context))

    async def send_verification(
        self, to: str, token: str, *, name: str | None = None, expires_minutes: int | None = None
    ) -> None:
        """Ask ``to`` to confirm their address by opening the verification link."""
        context = {"link": self.verification_link(token), "name": name}
        await self.send("verify_email", to, {**context, "expires_minutes": expires_minutes})

    async def send_password_reset(
        self, to: str, token: str, *, expires_minutes: int, name: str | None = None
    ) -> None:
        """Send the reset link, valid for ``expires_minutes``."""
        context = {"link": self.reset_link(token), "name": name}
        await self.send("reset_password", to, {**context, "expires_minutes": expires_minutes})

    async def send_email_change(
        self, to: str, token: str, *, expires_minutes: int, name: str | None = None
    ) -> None:
        """Ask the *new* address ``to`` to confirm it; the change happens when it does."""
        context = {"link": self.change_email_link(token), "name": name}
        await self.send("change_email", to, {**context, "expires_minutes": expires_minutes})

    async def send_email_changed(self, to: str, *, new_email: str, name: str | None = None) -> None:
        """Tell the *old* address ``to`` that the account's email is now ``new_email``."""
        await self.send("email_changed", to, {"name": name, "new_email": new_email})

    async def send_password_changed(self, to: str, *, name: str | None = None) -> None:
        """Tell ``to`` that their password changed (and what to do if it was not them)."""
        await self.send("password_changed", to, {"name": name})

    async def send_welcome(self, to: str, *, name: str | None = None) -> None:
        """Greet a newly registered user."""
        await self.send("welcome", to, {"name": name})

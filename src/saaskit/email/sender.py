"""The :class:`EmailSender` protocol and the default chosen from settings."""

from __future__ import annotations

from typing import Protocol

from saaskit.email.message import EmailMessage
from saaskit.settings import EmailSettings


class EmailSender(Protocol):
    """Delivers one email. Implementations: SMTP, console (logs), memory (tests).

    ``send`` raises :class:`~saaskit.exceptions.EmailDeliveryError` when the email
    could not be handed over; callers decide whether to retry.
    """

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message``.

        Raises:
            EmailDeliveryError: it could not be delivered (retried by the task runner).
        """
        ...


def create_sender(settings: EmailSettings, *, production: bool = False) -> EmailSender:
    """SMTP when ``settings.smtp_host`` is set, otherwise the console (log) sender.

    In ``production`` the console sender logs no email bodies (they hold live links).

    Example:
        >>> from saaskit.settings import EmailSettings
        >>> type(create_sender(EmailSettings())).__name__
        'ConsoleSender'
        >>> type(create_sender(EmailSettings(smtp_host="smtp.example.com"))).__name__
        'SMTPSender'
    """
    if settings.smtp_host:
        from saaskit.email.smtp import SMTPSender

        return SMTPSender.from_settings(settings)
    from saaskit.email.console import ConsoleSender

    return ConsoleSender(redact=production)

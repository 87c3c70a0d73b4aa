"""The development default: emails are written to the log, not delivered."""

from __future__ import annotations

import logging

from saaskit.email.message import EmailMessage

logger = logging.getLogger("saaskit.email")


class ConsoleSender:
    """An :class:`~saaskit.email.EmailSender` that logs each email on ``saaskit.email``.

    The recipient, subject and plain-text body are logged at INFO, so verification and
    reset links can be clicked straight from the console. The first email also logs a
    WARNING that nothing is being delivered. Links carry live tokens, so with
    ``redact=True`` (what saaskit uses in production) only the recipient and subject are
    logged, each time as a WARNING: production logs never hold a working reset link.
    Configure SMTP (``SAASKIT_EMAIL__SMTP_HOST``) before real users sign up.

    Example:
        >>> sender = ConsoleSender()
    """

    def __init__(self, log: logging.Logger = logger, *, redact: bool = False) -> None:
        self.log = log
        self.redact = redact
        self._warned = False

    async def send(self, message: EmailMessage) -> None:
        if self.redact:
            self.log.warning(
                "Email to %s (%r) NOT delivered: no SMTP server is configured "
                "(SAASKIT_EMAIL__SMTP_HOST); its body is not logged in production.",
                message.to,
                message.subject,
            )
            return
        if not self._warned:
            self._warned = True
            self.log.warning(
                "Emails are NOT being delivered: no SMTP server is configured, so they are "
                "only written to this log. Set SAASKIT_EMAIL__SMTP_HOST to send them."
            )
        self.log.info(
            "Email (not delivered)\nTo: %s\nSubject: %s\n\n%s",
            message.to,
            message.subject,
            message.text,
        )

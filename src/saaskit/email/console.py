"""The development default: emails are shown on the console, not delivered."""

from __future__ import annotations

import logging

from saaskit.email.memory import message_links
from saaskit.email.message import EmailMessage

logger = logging.getLogger("saaskit.email")

# The links are printed as is, each alone on a line: a token with its query string must
# survive a copy and paste from the terminal, so no prefix, quoting or escaping.
_INDENT = "    "


class ConsoleSender:
    """An :class:`~saaskit.email.EmailSender` that shows each email on ``saaskit.email``.

    Each email is logged as a WARNING (it was not delivered): the recipient, the
    subject and every link of the email, each link alone on its line so that it can be
    copied as is. WARNING is the level that reaches the console by default, even in a
    host that runs ``uvicorn app:app`` without configuring logging (Python's last-resort
    handler prints WARNING and above), so verification and reset links are never hidden.
    The full plain-text body follows at DEBUG.

    Links carry live tokens, so with ``redact=True`` (what saaskit uses in production)
    only the recipient and subject are logged, each time as a WARNING: production logs
    never hold a working reset link. Configure SMTP (``SAASKIT_EMAIL__SMTP_HOST``) before
    real users sign up.

    Example:
        >>> sender = ConsoleSender()
    """

    def __init__(self, log: logging.Logger = logger, *, redact: bool = False) -> None:
        self.log = log
        self.redact = redact

    async def send(self, message: EmailMessage) -> None:
        """Print the message to the log (links and tokens redacted when ``redact``)."""
        if self.redact:
            self.log.warning(
                "Email to %s (%r) NOT delivered: no SMTP server is configured "
                "(SAASKIT_EMAIL__SMTP_HOST); its body is not logged in production.",
                message.to,
                message.subject,
            )
            return
        self.log.warning("%s", _summary(message))
        self.log.debug("Text of the email to %s:\n%s", message.to, message.text)


def _summary(message: EmailMessage) -> str:
    """Who, what, and each link on a line of its own."""
    links = message_links(message)
    lines = [
        "Email NOT delivered (no SMTP server; set SAASKIT_EMAIL__SMTP_HOST to send emails):",
        f"{_INDENT}To: {message.to}",
        f"{_INDENT}Subject: {message.subject}",
        f"{_INDENT}Links:" if links else f"{_INDENT}Links: none",
        *(f"{_INDENT}{link}" for link in links),
    ]
    return "\n".join(lines)

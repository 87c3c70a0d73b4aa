"""Email delivery: messages, senders (SMTP, console, memory), templates and the mailer.

Example:
    ```python
    from saaskit.email import EmailRenderer, Mailer, create_sender

    email_settings = settings.email
    mailer = Mailer(create_sender(email_settings), EmailRenderer(email_settings), email_settings)
    await mailer.send_password_reset("alice@example.com", token, expires_minutes=30)
    ```
"""

from saaskit.email.console import ConsoleSender
from saaskit.email.mailer import Mailer
from saaskit.email.memory import MemorySender, extract_links
from saaskit.email.message import EmailMessage, to_mime
from saaskit.email.rendering import EmailRenderer, build_link
from saaskit.email.sender import EmailSender, create_sender
from saaskit.email.smtp import SMTPSender
from saaskit.exceptions import EmailDeliveryError

__all__ = [
    "ConsoleSender",
    "EmailDeliveryError",
    "EmailMessage",
    "EmailRenderer",
    "EmailSender",
    "Mailer",
    "MemorySender",
    "SMTPSender",
    "build_link",
    "create_sender",
    "extract_links",
    "to_mime",
]

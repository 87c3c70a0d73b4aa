"""What an email is, independent of how it is delivered, and its MIME form."""

from __future__ import annotations

import email.message
import email.utils
from collections.abc import Mapping
from dataclasses import dataclass, field

# Set by the sender from the message fields; a custom header must not override them
# (``To``/``Cc``/``Bcc`` also decide who receives the message over SMTP).
RESERVED_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "subject", "reply-to", "sender", "date", "message-id"}
)


def _check_header_value(name: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError(f"email header {name!r} must not contain line breaks")


@dataclass(frozen=True, slots=True)
class EmailMessage:
    """One transactional email to one recipient.

    Args:
        to: the recipient address (one per message, so recipients never see each other).
        subject: one line.
        text: the plain-text body (always sent; links must be visible in it).
        html: the HTML body, sent as an alternative to ``text`` when given.
        from_address: overrides the sender's default ``From`` (``"Name <a@b.c>"`` works).
        reply_to: where replies go.
        headers: extra headers such as ``{"X-Entity-Ref-ID": "..."}``.

    Example:
        >>> EmailMessage(to="alice@example.com", subject="Hi", text="Hello Alice").to
        'alice@example.com'
    """

    to: str
    subject: str
    text: str
    html: str | None = None
    from_address: str | None = None
    reply_to: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "@" not in self.to:
            raise ValueError(f"not an email address: {self.to!r}")
        for name, value in (
            ("To", self.to),
            ("Subject", self.subject),
            ("From", self.from_address or ""),
            ("Reply-To", self.reply_to or ""),
        ):
            _check_header_value(name, value)
        for name, value in self.headers.items():
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"set {name!r} through the EmailMessage field, not headers")
            _check_header_value(name, value)


def format_address(address: str, name: str | None = None) -> str:
    """``"Name <address>"`` with the name quoted or encoded as needed."""
    return email.utils.formataddr((name or "", address))


def to_mime(message: EmailMessage, default_from: str) -> email.message.EmailMessage:
    """Build the MIME message: ``multipart/alternative`` (text, then html) or plain text.

    Args:
        message: what to send.
        default_from: ``From`` when the message does not set one.
    """
    sender = message.from_address or default_from
    mime = email.message.EmailMessage()
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = email.utils.formatdate(usegmt=True)
    # An explicit domain: without it make_msgid resolves the host name (a blocking call).
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    mime["Message-ID"] = email.utils.make_msgid(domain=domain)
    if message.reply_to:
        mime["Reply-To"] = message.reply_to
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text)
    if message.html is not None:
        mime.add_alternative(message.html, subtype="html")
    return mime

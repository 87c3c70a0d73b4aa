"""An in-memory sender for tests: every email lands in ``outbox``."""

from __future__ import annotations

import html
import re

from saaskit.email.message import EmailMessage

# Stops at whitespace, quotes and angle brackets, which end a URL in text and HTML alike.
_URL = re.compile(r"""https?://[^\s"'<>]+""")
_TRAILING = ".,;:!?)]}"


def extract_links(content: str) -> list[str]:
    """Every ``http(s)`` URL in ``content`` (text or HTML), in order, without duplicates.

    HTML entities are decoded (``&amp;`` becomes ``&``) and sentence punctuation after a
    URL is dropped.

    Example:
        >>> extract_links('Open <a href="https://x.test/v?token=a&amp;b=1">it</a>.')
        ['https://x.test/v?token=a&b=1']
    """
    links: list[str] = []
    for match in _URL.finditer(content):
        link = html.unescape(match.group()).rstrip(_TRAILING)
        if link not in links:
            links.append(link)
    return links


def message_links(message: EmailMessage) -> list[str]:
    """The URLs in ``message``: those of the text part, then any only in the HTML."""
    links = extract_links(message.text)
    for link in extract_links(message.html or ""):
        if link not in links:
            links.append(link)
    return links


class MemorySender:
    """An :class:`~saaskit.email.EmailSender` that keeps what it is given.

    Set ``failure`` to an exception (e.g. an
    :class:`~saaskit.exceptions.EmailDeliveryError`) to make every ``send`` raise it.

    Example:
        ```python
        sender = MemorySender()
        ...  # register a user with a kit using this sender
        link = sender.links(sender.last_to("alice@example.com"))[0]
        ```
    """

    def __init__(self) -> None:
        self.outbox: list[EmailMessage] = []
        self.failure: Exception | None = None

    async def send(self, message: EmailMessage) -> None:
        """Keep the message in :attr:`outbox` (or raise the failure set for tests)."""
        if self.failure is not None:
            raise self.failure
        self.outbox.append(message)

    def messages_to(self, address: str) -> list[EmailMessage]:
        """Emails sent to ``address`` (case-insensitive), oldest first."""
        wanted = address.strip().lower()
        return [message for message in self.outbox if message.to.strip().lower() == wanted]

    def last_to(self, address: str) -> EmailMessage:
        """The newest email sent to ``address``.

        Raises:
            LookupError: nothing was sent to it (the message lists who did get email).
        """
        found = self.messages_to(address)
        if not found:
            sent_to = sorted({message.to for message in self.outbox}) or "nobody"
            raise LookupError(f"no email was sent to {address!r}; sent to: {sent_to}")
        return found[-1]

    @staticmethod
    def links(message: EmailMessage) -> list[str]:
        """The URLs in ``message``: those of the text part, then any only in the HTML."""
        return message_links(message)

    def clear(self) -> None:
        """Empty the outbox."""
        self.outbox.clear()

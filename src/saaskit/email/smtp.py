"""Delivery through an SMTP server (aiosmtplib)."""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Literal, Protocol

from pydantic import SecretStr

from saaskit.email.message import EmailMessage, format_address, to_mime
from saaskit.exceptions import EmailDeliveryError
from saaskit.settings import EmailSettings

logger = logging.getLogger("saaskit.email")

SMTPSecurity = Literal["starttls", "tls", "none"]
CLOSE_WAIT_SECONDS = 2.0


class SMTPSender:
    """The production :class:`~saaskit.email.EmailSender`: one SMTP connection per email.

    Args:
        host: the SMTP server.
        port: 587 for ``starttls``, 465 for ``tls``, 25 or a relay's port for ``none``.
        username: login; ``None`` sends without AUTH.
        password: the login's password.
        security: ``starttls`` upgrades the connection and refuses a server that cannot;
            ``tls`` speaks TLS from the first byte; ``none`` sends in clear text.
        timeout: seconds for connecting and for each command.
        from_address: the default ``From`` address.
        from_name: the display name shown with ``from_address``.
        validate_certs: verify the server certificate (only turn off in tests).
        tls_context: a custom :class:`ssl.SSLContext` (e.g. trusting a private CA).

    Raises:
        EmailDeliveryError: from :meth:`send`, when the server cannot be reached or
            refuses the login, the sender or the recipient.

    Example:
        ```python
        sender = SMTPSender(
            "smtp.example.com", username="apikey", password=SecretStr("..."),
            from_address="no-reply@example.com", from_name="Acme",
        )
        await sender.send(EmailMessage(to="a@example.com", subject="Hi", text="Hello"))
        ```
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        username: str | None = None,
        password: SecretStr | None = None,
        security: SMTPSecurity = "starttls",
        timeout: float = 10.0,
        from_address: str = "no-reply@localhost",
        from_name: str | None = None,
        validate_certs: bool = True,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in ("starttls", "tls", "none"):
            raise ValueError(f"unknown SMTP security mode: {security!r}")
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.security: SMTPSecurity = security
        self.timeout = timeout
        self.default_from = format_address(from_address, from_name)
        self.validate_certs = validate_certs
        self.tls_context = tls_context

    @classmethod
    def from_settings(cls, settings: EmailSettings) -> SMTPSender:
        """Build from ``settings.email`` (``smtp_host`` must be set)."""
        if not settings.smtp_host:
            raise ValueError("SAASKIT_EMAIL__SMTP_HOST is not set")
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            security=settings.smtp_security,
            timeout=settings.smtp_timeout,
            from_address=settings.from_address,
            from_name=settings.from_name,
            validate_certs=settings.smtp_validate_certs,
        )

    @property
    def server(self) -> str:
        """``host:port (security)``, for messages and logs."""
        return f"{self.host}:{self.port} ({self.security})"

    def __repr__(self) -> str:
        return f"SMTPSender({self.server}, username={self.username!r})"

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message``; raises :class:`EmailDeliveryError` on any failure."""
        import aiosmtplib  # a core dependency, imported lazily to keep startup light

        mime = to_mime(message, self.default_from)
        password = self._password.get_secret_value() if self._password else None
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=password if self.username else None,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            validate_certs=self.validate_certs,
            tls_context=self.tls_context,
            timeout=self.timeout,
        )
        try:
            async with client:  # connects (TLS, AUTH) and says QUIT on the way out
                sock = client.get_transport_info("socket")
                await client.send_message(mime)
        except (aiosmtplib.SMTPException, OSError) as exc:  # OSError covers TimeoutError
            reason = _describe(exc, password)
            logger.warning("email to %s not sent through %s: %s", message.to, self.server, reason)
            raise EmailDeliveryError(self.server, reason) from None
        logger.debug("email to %s sent through %s", message.to, self.server)
        await _wait_closed(sock, min(self.timeout, CLOSE_WAIT_SECONDS))


class _Socket(Protocol):
    def fileno(self) -> int: ...


async def _wait_closed(sock: _Socket | None, limit: float) -> None:
    # Closing a TLS connection is a round trip (close_notify) that finishes in the
    # background; a caller that ends its event loop right after sending (asyncio.run in
    # a task worker) would otherwise leave the socket open. Bounded: the mail is sent.
    deadline = asyncio.get_running_loop().time() + limit
    while sock is not None and sock.fileno() != -1:
        if asyncio.get_running_loop().time() >= deadline:
            return
        await asyncio.sleep(0.005)


def _describe(exc: BaseException, password: str | None) -> str:
    text = str(exc).strip() or "no details"
    reason = f"{type(exc).__name__}: {text}"
    if password:
        # Servers and libraries should never echo the password, but never trust that.
        reason = reason.replace(password, "********")
    return reason

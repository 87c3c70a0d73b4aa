"""Helpers for the email tests: a local SMTP server's state, senders and mailers."""

from __future__ import annotations

import email
import email.message
import email.policy
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from saaskit.email import EmailRenderer, Mailer, SMTPSender
from saaskit.settings import EmailSettings

SMTP_USER = "mailer"


SMTP_PASSWORD = "s3cret-Pa55word-never-shown"


@dataclass
class Delivered:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    def part(self, content_type: str) -> str:
        body = self.message.get_body(preferencelist=(content_type.split("/")[1],))
        assert body is not None, f"no {content_type} part"
        assert body.get_content_type() == content_type
        content: str = body.get_content()
        return content


@dataclass
class SMTPServer:
    """A running server and what it has received."""

    host: str
    port: int
    delivered: list[Delivered] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    tls_sessions: list[bool] = field(default_factory=list)


class CollectingHandler:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        # The transport knows about TLS in both forms (aiosmtpd's session only sees STARTTLS).
        transport = server.transport
        self.server.tls_sessions.append(
            transport is not None and transport.get_extra_info("ssl_object") is not None
        )
        self.server.delivered.append(
            Delivered(envelope.mail_from or "", list(envelope.rcpt_tos), parsed)
        )
        return "250 Message accepted for delivery"


@dataclass
class TLSFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts the self-signed certificate (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.cert))


def smtp_authenticator(server_state: SMTPServer) -> Callable[..., AuthResult]:
    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        ok = auth_data.login.decode() == SMTP_USER and auth_data.password.decode() == SMTP_PASSWORD
        if ok:
            server_state.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)

    return authenticate


def sender_for(server: SMTPServer, **overrides: Any) -> SMTPSender:
    options: dict[str, Any] = {
        "security": "none",
        "timeout": 5.0,
        "from_address": "no-reply@acme.test",
        "from_name": "Acme",
    }
    return SMTPSender(server.host, server.port, **{**options, **overrides})


def mailer_for(sender: SMTPSender) -> Mailer:
    settings = EmailSettings(frontend_url="https://app.acme.test/")
    return Mailer(sender, EmailRenderer(settings, project_name="Acme"), settings)

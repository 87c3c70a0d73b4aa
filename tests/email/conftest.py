"""A real SMTP server (aiosmtpd) on 127.0.0.1, in plain, AUTH, STARTTLS and TLS flavours."""

from __future__ import annotations

import datetime
import email
import email.message
import email.policy
import ipaddress
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from saaskit.email import EmailRenderer, Mailer, SMTPSender
from saaskit.settings import EmailSettings
from tests.ports import free_port

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


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A self-signed certificate for 127.0.0.1 / localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "saaskit test SMTP")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    files = TLSFiles(folder / "cert.pem", folder / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _authenticator(server_state: SMTPServer) -> Callable[..., AuthResult]:
    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        ok = auth_data.login.decode() == SMTP_USER and auth_data.password.decode() == SMTP_PASSWORD
        if ok:
            server_state.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)

    return authenticate


@pytest.fixture
def start_smtp() -> Iterator[Callable[..., SMTPServer]]:
    """Start a server: ``start_smtp(auth=..., starttls=..., implicit_tls=...)``."""
    controllers: list[Controller] = []

    def start(
        *, auth: bool = False, tls: TLSFiles | None = None, implicit_tls: bool = False
    ) -> SMTPServer:
        # aiosmtpd cannot tell that an implicit-TLS connection is encrypted, so it would
        # refuse AUTH there unless told to allow AUTH in clear text; not worth testing.
        assert not (auth and implicit_tls), "AUTH over implicit TLS is not supported here"
        state = SMTPServer("127.0.0.1", free_port())
        options: dict[str, Any] = {}
        if auth:
            options.update(
                authenticator=_authenticator(state),
                auth_required=True,
                # With TLS, AUTH is offered only on the encrypted connection.
                auth_require_tls=tls is not None,
            )
        if tls is not None and implicit_tls:
            options["ssl_context"] = tls.server_context()
        elif tls is not None:
            options.update(tls_context=tls.server_context(), require_starttls=True)
        controller = Controller(
            CollectingHandler(state),
            hostname=state.host,
            port=state.port,
            server_hostname="localhost",
            **options,
        )
        controller.start()
        controllers.append(controller)
        return state

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(start_smtp: Callable[..., SMTPServer]) -> SMTPServer:
    """A plain server without AUTH."""
    return start_smtp()


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

"""A real SMTP server (aiosmtpd) on 127.0.0.1, in plain, AUTH, STARTTLS and TLS flavours."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.email.helpers import (
    CollectingHandler,
    SMTPServer,
    TLSFiles,
    smtp_authenticator,
)
from tests.ports import free_port


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
                authenticator=smtp_authenticator(state),
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

"""SMTPSender against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from saaskit.email import EmailMessage, EmailRenderer, Mailer, SMTPSender, create_sender
from saaskit.exceptions import EmailDeliveryError, ErrorCode, ServiceUnavailable
from saaskit.settings import EmailSettings
from tests.email.helpers import (
    SMTP_PASSWORD,
    SMTP_USER,
    SMTPServer,
    mailer_for,
    sender_for,
)
from tests.helpers import GUARD_SECONDS
from tests.ports import free_port

# aiosmtpd warns when a server requires AUTH without TLS; the plain-AUTH server is meant
# to (it tests the login itself), so only those tests ignore exactly that warning.
plain_auth_server = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning"
)

TOKEN = "eyJhbGciOi.J9/+tok=en"  # '/', '+' and '=' must survive the trip through the URL


class LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs.extend(value for name, value in attrs if tag == "a" and name == "href" and value)


def hrefs(html: str) -> list[str]:
    collector = LinkCollector()
    collector.feed(html)
    return collector.hrefs


def token_of(link: str) -> str:
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "app.acme.test", "/verify-email")
    return parse_qs(parts.query)["token"][0]


async def test_verification_email_arrives_with_a_working_link_in_both_parts(
    smtp_server: SMTPServer,
) -> None:
    await mailer_for(sender_for(smtp_server)).send_verification(
        "alice@example.com", TOKEN, name="Alice"
    )

    [delivered] = smtp_server.delivered
    assert delivered.rcpt_tos == ["alice@example.com"]
    assert delivered.mail_from == "no-reply@acme.test"
    message = delivered.message
    assert message["To"] == "alice@example.com"
    assert message["From"] == "Acme <no-reply@acme.test>"
    assert message["Subject"] == "Confirm your email address for Acme"
    assert message["Message-ID"].endswith("@acme.test>")
    assert message.get_content_type() == "multipart/alternative"
    expected = "https://app.acme.test/verify-email?token=eyJhbGciOi.J9%2F%2Btok%3Den"
    text = delivered.part("text/plain")
    assert "Hi Alice," in text
    assert expected in text.split()
    html = delivered.part("text/html")
    assert expected in hrefs(html)
    assert token_of(expected) == TOKEN


async def test_non_ascii_names_and_bodies_arrive_intact(smtp_server: SMTPServer) -> None:
    sender = sender_for(smtp_server, from_name="Café Zoë")
    await sender.send(
        EmailMessage(to="bob@example.com", subject="Grüße", text="Déjà vu — ünïcode ✓")
    )

    message = smtp_server.delivered[0].message
    assert message["From"].addresses[0].display_name == "Café Zoë"
    assert message["Subject"] == "Grüße"
    assert message.get_content_type() == "text/plain"
    assert message.get_content().strip() == "Déjà vu — ünïcode ✓"


@plain_auth_server
async def test_login_with_the_configured_credentials(start_smtp: Callable[..., SMTPServer]) -> None:
    server = start_smtp(auth=True)
    sender = sender_for(server, username=SMTP_USER, password=SecretStr(SMTP_PASSWORD))

    await mailer_for(sender).send_welcome("carol@example.com", name="Carol")

    assert server.logins == [SMTP_USER]
    assert server.delivered[0].message["Subject"] == "Welcome to Acme"


@plain_auth_server
async def test_rejected_login_raises_without_revealing_the_password(
    start_smtp: Callable[..., SMTPServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = start_smtp(auth=True)
    wrong = "wrong-Pa55word-also-secret"
    sender = sender_for(server, username=SMTP_USER, password=SecretStr(wrong))

    with caplog.at_level(logging.DEBUG), pytest.raises(EmailDeliveryError) as caught:
        await mailer_for(sender).send_welcome("carol@example.com")

    error = caught.value
    assert f"127.0.0.1:{server.port}" in str(error)
    assert "SMTPAuthenticationError" in str(error)
    for shown in (str(error), repr(error), error.message, caplog.text, repr(sender)):
        assert wrong not in shown
        assert SMTP_PASSWORD not in shown
    assert server.delivered == []


async def test_server_without_auth_support_is_an_error_not_a_silent_skip(
    smtp_server: SMTPServer,
) -> None:
    sender = sender_for(smtp_server, username=SMTP_USER, password=SecretStr(SMTP_PASSWORD))

    with pytest.raises(EmailDeliveryError) as caught:
        await sender.send(EmailMessage(to="dan@example.com", subject="Hi", text="Hello"))

    assert SMTP_PASSWORD not in str(caught.value)
    assert smtp_server.delivered == []


async def test_server_down_fails_fast_with_the_server_named() -> None:
    port = free_port()  # nothing listens there
    sender = SMTPSender("127.0.0.1", port, security="none", timeout=1.0)

    with pytest.raises(EmailDeliveryError) as caught:
        async with asyncio.timeout(GUARD_SECONDS):  # a refused connection, not a wait
            await sender.send(EmailMessage(to="a@example.com", subject="Hi", text="Hello"))

    error = caught.value
    assert str(error).startswith(f"email delivery through 127.0.0.1:{port} (none) failed")
    # What an HTTP client could see stays generic (no internal host names).
    assert isinstance(error, ServiceUnavailable)
    assert error.code is ErrorCode.EMAIL_DELIVERY_FAILED
    assert "127.0.0.1" not in error.message


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word (a hung mail server)."""

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_hung_server_times_out(silent_server: int) -> None:
    sender = SMTPSender(
        "127.0.0.1",
        silent_server,
        security="none",
        timeout=0.3,
        username=SMTP_USER,
        password=SecretStr(SMTP_PASSWORD),
    )
    with pytest.raises(EmailDeliveryError) as caught:
        async with asyncio.timeout(GUARD_SECONDS):  # the sender's own 0.3 s timeout fires
            await sender.send(EmailMessage(to="a@example.com", subject="Hi", text="Hello"))

    assert "Timeout" in str(caught.value)
    assert SMTP_PASSWORD not in str(caught.value)


@plain_auth_server
async def test_settings_with_an_smtp_host_deliver_through_it(
    start_smtp: Callable[..., SMTPServer],
) -> None:
    server = start_smtp(auth=True)
    settings = EmailSettings(
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="none",
        smtp_username=SMTP_USER,
        smtp_password=SecretStr(SMTP_PASSWORD),
        from_address="hello@acme.test",
        from_name="Acme Team",
        frontend_url="https://acme.test",
    )
    sender = create_sender(settings)
    assert isinstance(sender, SMTPSender)

    await Mailer(sender, EmailRenderer(settings), settings).send_verification("j@x.test", "t1")

    message = server.delivered[0].message
    assert message["From"] == "Acme Team <hello@acme.test>"
    assert "https://acme.test/verify-email?token=t1" in server.delivered[0].part("text/plain")
    assert server.logins == [SMTP_USER]

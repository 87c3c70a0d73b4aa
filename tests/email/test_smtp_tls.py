"""SMTPSender over STARTTLS and implicit TLS, with a self-signed certificate."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

import pytest
from pydantic import SecretStr

from saaskit.email import EmailDeliveryError, EmailMessage
from tests.email.helpers import (
    SMTP_PASSWORD,
    SMTP_USER,
    SMTPServer,
    TLSFiles,
    mailer_for,
    sender_for,
)

TOKEN = "reset-token"


async def test_starttls_upgrades_before_login_and_sending(
    start_smtp: Callable[..., SMTPServer], tls_files: TLSFiles
) -> None:
    server = start_smtp(auth=True, tls=tls_files)
    sender = sender_for(
        server,
        security="starttls",
        username=SMTP_USER,
        password=SecretStr(SMTP_PASSWORD),
        tls_context=tls_files.client_context(),
    )

    await mailer_for(sender).send_password_reset("erin@example.com", TOKEN, expires_minutes=30)

    assert server.logins == [SMTP_USER]
    assert server.tls_sessions == [True]
    assert "30 minutes" in server.delivered[0].part("text/plain")


async def test_starttls_refuses_an_untrusted_certificate_by_default(
    start_smtp: Callable[..., SMTPServer], tls_files: TLSFiles
) -> None:
    server = start_smtp(tls=tls_files)

    with pytest.raises(EmailDeliveryError) as caught:
        await mailer_for(sender_for(server, security="starttls")).send_welcome("f@example.com")

    assert "certificate" in str(caught.value).lower()
    assert server.delivered == []


async def test_certificate_checks_can_be_turned_off_for_testing(
    start_smtp: Callable[..., SMTPServer], tls_files: TLSFiles
) -> None:
    server = start_smtp(tls=tls_files)
    sender = sender_for(server, security="starttls", validate_certs=False)

    await mailer_for(sender).send_welcome("g@example.com")

    assert server.tls_sessions == [True]


async def test_starttls_never_falls_back_to_clear_text(smtp_server: SMTPServer) -> None:
    # The plain server does not offer STARTTLS: sending anyway would expose the mail.
    with pytest.raises(EmailDeliveryError) as caught:
        await mailer_for(sender_for(smtp_server, security="starttls")).send_welcome("h@x.test")

    assert "STARTTLS" in str(caught.value)
    assert smtp_server.delivered == []


async def test_implicit_tls(start_smtp: Callable[..., SMTPServer], tls_files: TLSFiles) -> None:
    server = start_smtp(tls=tls_files, implicit_tls=True)
    sender = sender_for(server, security="tls", tls_context=tls_files.client_context())

    await mailer_for(sender).send_password_changed("ivan@example.com")

    assert server.tls_sessions == [True]
    assert server.delivered[0].message["Subject"] == "Your Acme password was changed"


async def test_implicit_tls_refuses_an_untrusted_certificate_by_default(
    start_smtp: Callable[..., SMTPServer], tls_files: TLSFiles
) -> None:
    server = start_smtp(tls=tls_files, implicit_tls=True)

    with pytest.raises(EmailDeliveryError) as caught:
        await mailer_for(sender_for(server, security="tls")).send_welcome("k@example.com")

    assert "certificate" in str(caught.value).lower()
    assert server.delivered == []


def test_connection_is_closed_when_send_returns(
    start_smtp: Callable[..., SMTPServer], tls_files: TLSFiles
) -> None:
    # Task workers often run one short event loop per email (asyncio.run): closing TLS
    # takes a round trip, and a loop that ends first would leak the socket (a
    # ResourceWarning, which this suite turns into a failure).
    server = start_smtp(tls=tls_files, implicit_tls=True)
    sender = sender_for(server, security="tls", tls_context=tls_files.client_context())

    for number in range(3):
        loop = asyncio.new_event_loop()
        message = EmailMessage(to="l@example.com", subject=f"#{number}", text=".")
        loop.run_until_complete(sender.send(message))
        loop.close()  # at once: no extra turns for connections to finish closing
        gc.collect()

    assert [d.message["Subject"] for d in server.delivered] == ["#0", "#1", "#2"]

"""Console and memory senders, the sender chosen from settings, and the MIME form."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from saaskit.email import (
    ConsoleSender,
    EmailDeliveryError,
    EmailMessage,
    MemorySender,
    SMTPSender,
    create_sender,
    extract_links,
    to_mime,
)
from saaskit.settings import EmailSettings

LINK = "https://app.test/verify-email?token=abc.DEF_123"


def verification(to: str = "alice@example.com", token: str = "abc.DEF_123") -> EmailMessage:  # noqa: S107
    link = f"https://app.test/verify-email?token={token}"
    return EmailMessage(
        to=to,
        subject="Confirm your email",
        text=f"Open this link:\n\n{link}\n",
        html=f'<p><a href="{link}">Confirm</a></p>',
    )


async def test_in_development_each_email_is_a_warning_with_its_recipient_subject_and_links(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="saaskit.email")
    sender = ConsoleSender()
    with_html_link = EmailMessage(
        to="alice@example.com",
        subject="Confirm your email",
        text=f"Open this link: {LINK}.",
        html=f'<a href="{LINK}">Confirm</a> <a href="https://app.test/help?a=1&amp;b=2">Help</a>',
    )

    await sender.send(with_html_link)
    await sender.send(verification("bob@example.com"))

    # WARNING, so that it reaches the console even where nobody configured logging
    # (Python's last-resort handler prints WARNING and above), and every time.
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.name for r in warnings] == ["saaskit.email", "saaskit.email"]
    first = warnings[0].getMessage().splitlines()
    assert "NOT delivered" in first[0]
    assert "SAASKIT_EMAIL__SMTP_HOST" in first[0]
    assert "To: alice@example.com" in [line.strip() for line in first]
    assert "Subject: Confirm your email" in [line.strip() for line in first]
    # Each link alone on its line, as sent (entities decoded, no trailing punctuation),
    # so that it can be copied as is; the one only in the HTML part too.
    assert [line.strip() for line in first if "://" in line] == [
        LINK,
        "https://app.test/help?a=1&b=2",
    ]
    assert "To: bob@example.com" in warnings[1].getMessage()


async def test_in_development_the_full_text_is_logged_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="saaskit.email")

    await ConsoleSender().send(verification())

    [debug] = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert "Open this link:" in debug.getMessage()
    assert LINK in debug.getMessage().split()


async def test_in_production_the_console_never_logs_a_working_link(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="saaskit.email")
    sender = create_sender(EmailSettings(), production=True)

    await sender.send(verification())
    await sender.send(verification("bob@example.com"))

    assert "abc.DEF_123" not in caplog.text
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "alice@example.com" in warnings[0]
    assert "'Confirm your email'" in warnings[0]
    assert "NOT delivered" in warnings[0]


async def test_memory_sender_finds_the_last_email_to_an_address_and_its_links() -> None:
    sender = MemorySender()
    await sender.send(verification("alice@example.com", token="first"))
    await sender.send(verification("bob@example.com", token="bob"))
    await sender.send(verification("Alice@Example.com", token="second"))

    last = sender.last_to("alice@example.com")

    assert sender.links(last) == ["https://app.test/verify-email?token=second"]
    assert [m.to for m in sender.messages_to("ALICE@example.com")] == [
        "alice@example.com",
        "Alice@Example.com",
    ]
    assert len(sender.outbox) == 3
    sender.clear()
    assert sender.outbox == []


async def test_memory_sender_explains_when_nothing_was_sent_to_an_address() -> None:
    sender = MemorySender()
    await sender.send(verification("bob@example.com"))

    with pytest.raises(LookupError, match=r"no email was sent to 'carol@example.com'.*bob@"):
        sender.last_to("carol@example.com")


async def test_memory_sender_can_simulate_a_delivery_failure() -> None:
    sender = MemorySender()
    sender.failure = EmailDeliveryError("smtp.test:587", "connection refused")

    with pytest.raises(EmailDeliveryError):
        await sender.send(verification())
    assert sender.outbox == []


def test_links_come_from_text_and_html_with_entities_decoded() -> None:
    message = EmailMessage(
        to="a@example.com",
        subject="Links",
        text="See https://a.test/one, then (https://a.test/two).",
        html='<a href="https://a.test/three?x=1&amp;y=2">3</a> <a href="https://a.test/one">1</a>',
    )

    assert MemorySender.links(message) == [
        "https://a.test/one",
        "https://a.test/two",
        "https://a.test/three?x=1&y=2",
    ]
    assert extract_links("no links here") == []


def test_settings_without_smtp_host_log_emails_instead_of_sending() -> None:
    assert isinstance(create_sender(EmailSettings()), ConsoleSender)


def test_settings_with_smtp_host_build_an_smtp_sender() -> None:
    settings = EmailSettings(
        smtp_host="smtp.acme.test",
        smtp_port=465,
        smtp_security="tls",
        smtp_username="apikey",
        smtp_password=SecretStr("hunter2-hunter2"),
        smtp_timeout=3,
        smtp_validate_certs=False,
        from_address="hello@acme.test",
        from_name="Acme",
    )

    sender = create_sender(settings)

    assert isinstance(sender, SMTPSender)
    assert (sender.host, sender.port, sender.security, sender.timeout) == (
        "smtp.acme.test",
        465,
        "tls",
        3,
    )
    assert sender.username == "apikey"
    assert sender.validate_certs is False
    assert sender.default_from == "Acme <hello@acme.test>"
    assert "hunter2" not in repr(sender)


def test_mime_is_multipart_alternative_with_text_first() -> None:
    mime = to_mime(verification(), "Acme <no-reply@acme.test>")

    assert mime.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in mime.iter_parts()]
    assert parts == ["text/plain", "text/html"]  # clients show the last one they support
    assert mime["From"] == "Acme <no-reply@acme.test>"
    assert mime["Date"]
    assert mime["Message-ID"].endswith("@acme.test>")


def test_mime_uses_the_message_from_reply_to_and_extra_headers() -> None:
    message = EmailMessage(
        to="a@example.com",
        subject="Hi",
        text="Hello",
        from_address="Support <support@acme.test>",
        reply_to="help@acme.test",
        headers={"X-Entity-Ref-ID": "42"},
    )

    mime = to_mime(message, "no-reply@acme.test")

    assert mime.get_content_type() == "text/plain"
    assert mime["From"] == "Support <support@acme.test>"
    assert mime["Reply-To"] == "help@acme.test"
    assert mime["X-Entity-Ref-ID"] == "42"


@pytest.mark.parametrize(
    "fields",
    [
        {"subject": "Hi\r\nBcc: victim@example.com"},
        {"to": "a@example.com\nBcc: victim@example.com"},
        {"reply_to": "x@example.com\r\nX-Evil: 1"},
        {"headers": {"X-Note": "a\nBcc: victim@example.com"}},
        {"headers": {"Bcc": "victim@example.com"}},
        {"to": "not-an-address"},
    ],
)
def test_messages_that_could_inject_headers_or_recipients_are_refused(
    fields: dict[str, object],
) -> None:
    values: dict[str, object] = {"to": "a@example.com", "subject": "Hi", "text": "x", **fields}

    with pytest.raises(ValueError, match=r"line breaks|not headers|not an email"):
        EmailMessage(**values)  # type: ignore[arg-type]

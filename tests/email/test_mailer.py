"""The Mailer: which emails go out, to whom, with which links."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from saaskit.email import EmailDeliveryError, EmailRenderer, Mailer, MemorySender
from saaskit.settings import EmailSettings


@pytest.fixture
def outbox() -> MemorySender:
    return MemorySender()


def make_mailer(sender: MemorySender, **settings: str) -> Mailer:
    email = EmailSettings(frontend_url="https://app.acme.test/console", **settings)
    return Mailer(sender, EmailRenderer(email, project_name="Acme"), email)


async def test_verification_links_to_the_configured_frontend_page(outbox: MemorySender) -> None:
    await make_mailer(outbox).send_verification("alice@example.com", "tok+/=", name="Alice")

    message = outbox.last_to("alice@example.com")
    [link] = outbox.links(message)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "app.acme.test",
        "/console/verify-email",
    )
    assert parse_qs(parts.query) == {"token": ["tok+/="]}
    assert "Hi Alice," in message.text


async def test_verification_can_mention_when_the_link_expires(outbox: MemorySender) -> None:
    mailer = make_mailer(outbox)

    await mailer.send_verification("a@example.com", "t", expires_minutes=1440)
    await mailer.send_verification("b@example.com", "t")

    assert "expires in 1440 minutes" in outbox.last_to("a@example.com").text
    assert "expires" not in outbox.last_to("b@example.com").text


async def test_password_reset_uses_the_reset_page_and_states_the_expiry(
    outbox: MemorySender,
) -> None:
    mailer = make_mailer(outbox, reset_path="/account/reset")

    await mailer.send_password_reset("bob@example.com", "r3set", expires_minutes=30)

    message = outbox.last_to("bob@example.com")
    assert outbox.links(message) == ["https://app.acme.test/console/account/reset?token=r3set"]
    assert mailer.reset_link("r3set") == outbox.links(message)[0]
    assert "30 minutes" in message.text
    assert "did not ask for this" in message.text


async def test_password_changed_notice_carries_no_token(outbox: MemorySender) -> None:
    await make_mailer(outbox).send_password_changed("carol@example.com", name="Carol")

    message = outbox.last_to("carol@example.com")
    assert message.subject == "Your Acme password was changed"
    assert outbox.links(message) == ["https://app.acme.test/console"]
    assert "If you did not" in message.text


async def test_welcome_email(outbox: MemorySender) -> None:
    await make_mailer(outbox).send_welcome("dan@example.com", name="Dan")

    message = outbox.last_to("dan@example.com")
    assert message.subject == "Welcome to Acme"
    assert "Hi Dan," in message.text


async def test_delivery_failures_reach_the_caller(outbox: MemorySender) -> None:
    outbox.failure = EmailDeliveryError("smtp.acme.test:587 (starttls)", "refused")

    with pytest.raises(EmailDeliveryError):
        await make_mailer(outbox).send_welcome("erin@example.com")

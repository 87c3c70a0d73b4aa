"""Templates: built-in emails, host overrides, autoescaping and link building."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jinja2
import pytest
from pydantic import ValidationError

from saaskit.email import EmailRenderer, MemorySender, build_link
from saaskit.settings import EmailSettings, SaaSKitSettings


def renderer(**settings: str) -> EmailRenderer:
    return EmailRenderer(EmailSettings(**settings), project_name="Acme")


@pytest.mark.parametrize(
    ("kind", "context", "subject"),
    [
        ("verify_email", {"link": "https://a.test/v?t=1"}, "Confirm your email address for Acme"),
        (
            "reset_password",
            {"link": "https://a.test/r?token=t", "expires_minutes": 45},
            "Reset your Acme password",
        ),
        ("password_changed", {}, "Your Acme password was changed"),
        ("welcome", {}, "Welcome to Acme"),
    ],
)
def test_every_built_in_email_has_a_subject_text_and_html(
    kind: str, context: dict[str, object], subject: str
) -> None:
    message = renderer().render(kind, "alice@example.com", {"name": "Alice", **context})

    assert message.to == "alice@example.com"
    assert message.subject == subject
    assert message.text.startswith("Hi Alice,")
    assert message.html is not None
    assert "Hi Alice," in message.html
    assert f"<title>{subject}</title>" in message.html
    if "link" in context:  # the same link in both parts
        assert MemorySender.links(message) == [context["link"]]


def test_greeting_works_without_a_name() -> None:
    message = renderer().render("welcome", "bob@example.com")

    assert message.text.startswith("Hi,")
    assert "bob@example.com" in message.text


def test_reset_email_states_expiry_and_what_to_do_if_not_requested() -> None:
    message = renderer().render(
        "reset_password", "a@example.com", {"link": "https://a.test/r", "expires_minutes": 20}
    )

    assert "within 20 minutes" in message.text
    assert "If you did not ask for this, ignore this email" in message.text


def test_html_escapes_user_supplied_values_but_text_keeps_them_verbatim() -> None:
    name = '<script>alert("x")</script>'

    message = renderer().render("welcome", "a@example.com", {"name": name})

    assert message.html is not None
    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in message.html
    assert f"Hi {name}," in message.text  # plain text is never interpreted as HTML


def test_subject_is_one_line_even_if_a_template_breaks_it() -> None:
    message = renderer().render("welcome", "a@example.com", {"name": "A"})

    assert "\n" not in message.subject


def test_host_templates_override_built_in_ones_by_name(tmp_path: Path) -> None:
    (tmp_path / "verify_email.subject.txt").write_text("Bienvenue chez {{ project_name }} !\n")
    (tmp_path / "layout.html").write_text(
        "<html><body class='acme'>{% block content %}{% endblock %}</body></html>"
    )
    host = renderer(templates_dir=str(tmp_path))

    message = host.render("verify_email", "a@example.com", {"link": "https://a.test/v"})

    assert message.subject == "Bienvenue chez Acme !"
    assert message.text.startswith("Hi,")  # not overridden: the built-in one
    assert message.html is not None
    assert message.html.startswith("<html><body class='acme'>")  # every email restyled
    assert "https://a.test/v" in message.html


def test_host_can_add_its_own_kind_of_email_with_text_only(tmp_path: Path) -> None:
    (tmp_path / "invoice.subject.txt").write_text("Invoice {{ number }}")
    (tmp_path / "invoice.txt").write_text("Invoice {{ number }} for {{ email }}.")

    message = renderer(templates_dir=str(tmp_path)).render(
        "invoice", "a@example.com", {"number": 7}
    )

    assert (message.subject, message.text, message.html) == (
        "Invoice 7",
        "Invoice 7 for a@example.com.\n",
        None,
    )


def test_a_typo_in_a_template_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "welcome.txt").write_text("Hello {{ nmae }}")

    with pytest.raises(jinja2.UndefinedError, match="nmae"):
        renderer(templates_dir=str(tmp_path)).render("welcome", "a@example.com", {"name": "A"})


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(jinja2.TemplateNotFound):
        renderer().render("no_such_email", "a@example.com")


def test_missing_templates_dir_is_reported_at_startup(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a folder"):
        renderer(templates_dir=str(tmp_path / "missing"))


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        ("https://app.test", "/verify-email", "https://app.test/verify-email?token=T"),
        ("https://app.test/", "verify-email", "https://app.test/verify-email?token=T"),
        ("https://app.test/app/", "/verify-email", "https://app.test/app/verify-email?token=T"),
        ("http://localhost:3000", "/auth?mode=v", "http://localhost:3000/auth?mode=v&token=T"),
        ("https://app.test", "/#/verify", "https://app.test/?token=T#/verify"),
    ],
)
def test_build_link_joins_base_and_path(base: str, path: str, expected: str) -> None:
    assert build_link(base, path, "T") == expected


def test_build_link_encodes_any_token_so_it_comes_back_unchanged() -> None:
    token = "a b&c=d/e+f?g#h%i é"

    link = build_link("https://app.test", "/reset-password", token)

    parts = urlsplit(link)
    assert parts.fragment == ""
    assert parse_qs(parts.query) == {"token": [token]}


@pytest.mark.parametrize(
    ("base", "path"),
    [
        ("https://app.test", "//evil.test/reset"),
        ("https://app.test", "https://evil.test/reset"),
        ("javascript:alert(1)", "/x"),
        ("app.test", "/x"),
    ],
)
def test_build_link_refuses_links_that_could_leave_the_frontend(base: str, path: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        build_link(base, path, "T")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "app.example.com", "https://"])
def test_settings_refuse_a_frontend_url_that_is_not_http(url: str) -> None:
    with pytest.raises(ValidationError):
        EmailSettings(frontend_url=url)


def test_email_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAASKIT_EMAIL__SMTP_HOST", "smtp.acme.test")
    monkeypatch.setenv("SAASKIT_EMAIL__SMTP_PASSWORD", "hunter2-hunter2")
    monkeypatch.setenv("SAASKIT_EMAIL__FRONTEND_URL", "https://app.acme.test")

    email = SaaSKitSettings().email

    assert email.smtp_host == "smtp.acme.test"
    assert email.smtp_security == "starttls"
    assert email.frontend_url == "https://app.acme.test"
    assert email.smtp_password is not None
    assert "hunter2" not in repr(email)

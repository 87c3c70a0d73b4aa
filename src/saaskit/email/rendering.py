"""Email templates (Jinja2): built-in ones, overridable by file name from a host folder.

Each kind of email is three files: ``KIND.subject.txt``, ``KIND.txt`` and, optionally,
``KIND.html`` (HTML templates are autoescaped; the built-in ones extend ``layout.html``,
so overriding that one file restyles every email).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from saaskit.email.message import EmailMessage
from saaskit.settings import EmailSettings


def build_link(base_url: str, path: str, token: str, *, param: str = "token") -> str:
    """The absolute URL of a frontend page carrying ``token`` as a query parameter.

    ``base_url`` comes from settings (never from a request's ``Host`` header); its own
    path is kept, slashes are joined once, and the token is percent-encoded.

    Args:
        base_url: ``http(s)://host[:port][/prefix]``.
        path: the page, e.g. ``/verify-email`` (may carry its own query string).
        token: the value to pass; any characters are safe.
        param: the query parameter's name.

    Raises:
        ValueError: ``base_url`` is not an absolute http(s) URL, or ``path`` is a URL.

    Example:
        >>> build_link("https://app.example.com/", "/reset-password", "a b/c")
        'https://app.example.com/reset-password?token=a%20b%2Fc'
    """
    base = urlsplit(base_url)
    if base.scheme not in ("http", "https") or not base.netloc:
        raise ValueError(f"base URL must be an absolute http(s) URL, got {base_url!r}")
    page = urlsplit(path)
    # "//evil.example/x" or "https://..." would point the link at another site.
    if page.scheme or page.netloc:
        raise ValueError(f"path must be a path on the frontend, got {path!r}")
    joined = base.path.rstrip("/") + "/" + page.path.lstrip("/")
    query = [part for part in (base.query, page.query) if part]
    query.append(f"{quote(param, safe='')}={quote(token, safe='')}")
    return urlunsplit((base.scheme, base.netloc, joined, "&".join(query), page.fragment))


class EmailRenderer:
    """Renders a kind of email (``verify_email``, ...) with a context to an :class:`EmailMessage`.

    Every template sees ``project_name``, ``frontend_url``, ``email`` (the recipient) and
    ``name`` (``None`` unless given) besides the context passed to :meth:`render`.
    Undefined names are errors, so a typo in an override fails loudly in tests instead
    of sending a blank.

    Args:
        settings: ``templates_dir`` (overrides) and ``frontend_url``.
        project_name: shown in subjects and bodies.

    Example:
        ```python
        renderer = EmailRenderer(settings.email, project_name="Acme")
        message = renderer.render("welcome", "alice@example.com", {"name": "Alice"})
        ```
    """

    def __init__(self, settings: EmailSettings, *, project_name: str = "saaskit") -> None:
        self.settings = settings
        self.project_name = project_name
        loaders: list[BaseLoader] = []
        if settings.templates_dir:
            folder = Path(settings.templates_dir)
            if not folder.is_dir():
                raise ValueError(f"email templates_dir is not a folder: {folder}")
            loaders.append(FileSystemLoader(folder))
        loaders.append(PackageLoader("saaskit.email", "templates"))
        self.environment = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html", "htm"), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, kind: str, to: str, context: Mapping[str, Any] | None = None) -> EmailMessage:
        """Render ``KIND.subject.txt``, ``KIND.txt`` and ``KIND.html`` (if present).

        Raises:
            jinja2.TemplateNotFound: no subject or text template for ``kind``.
        """
        values: dict[str, Any] = {
            "project_name": self.project_name,
            "frontend_url": self.settings.frontend_url.rstrip("/"),
            "email": to,
            "name": None,
            **(context or {}),
        }
        subject = self._render(f"{kind}.subject.txt", values)
        # One line: a template's line breaks must not reach the Subject header.
        values["subject"] = " ".join(subject.split())
        text = self._render(f"{kind}.txt", values).strip() + "\n"
        try:
            html: str | None = self._render(f"{kind}.html", values)
        except TemplateNotFound as exc:
            if exc.name != f"{kind}.html":  # a missing layout is a real error
                raise
            html = None
        return EmailMessage(to=to, subject=values["subject"], text=text, html=html)

    def _render(self, name: str, values: Mapping[str, Any]) -> str:
        return self.environment.get_template(name).render(values)

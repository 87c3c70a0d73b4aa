"""Confirming an address in the browser tests, as its owner would with the emailed link:
linking a provider or adding a passkey needs a verified email."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx

_TOKEN = r"verify-email\?token=([A-Za-z0-9_.\-]+)"


def token_in(text: str, email: str) -> str | None:
    """The newest verification token emailed to ``email`` in ``text`` (a log, a body)."""
    found = re.findall(rf"To: {re.escape(email)}.*?{_TOKEN}", text, flags=re.S)
    return found[-1] if found else None


def verify_from_log(api: str, log: Path, email: str, *, tries: int = 100) -> None:
    """Find the link the console email backend printed to ``log``, and confirm it."""
    token = None
    for _ in range(tries):  # the server writes the email right after answering
        token = token_in(log.read_text("utf-8", errors="replace"), email)
        if token:
            break
        threading.Event().wait(0.05)
    assert token, f"no verification email to {email} in {log}"
    confirm(api, token)


def confirm(api: str, token: str) -> None:
    """``POST /auth/verify-email`` with ``token`` (``api``: the API's base URL)."""
    done = httpx.post(f"{api}/api/v1/auth/verify-email", json={"token": token}, timeout=30)
    assert done.status_code == 200, done.text

"""Provider tokens kept at rest, sealed (``SAASKIT_OAUTH__STORE_PROVIDER_TOKENS``).

Off by default: a login needs the provider's tokens once, at the callback. An app that
calls the provider's API for the user (their GitHub repositories, their Google calendar)
turns it on; each linked account then keeps its access token, refresh token and expiry,
sealed with AES-256-GCM (``cryptography``, which Authlib, this feature's client, already
requires) under a key derived from ``SAASKIT_OAUTH__TOKEN_KEY``, or else the signing key,
with a label of its own. The associated data is the provider account (``provider`` and
``subject``), so a sealed token copied onto another row does not open. The format is
versioned (``v1.``): a new scheme is a new prefix, not a migration.

Rotating the key (or the signing key without a dedicated token key) makes the stored
tokens unreadable: :meth:`TokenSealer.open` raises :class:`TokenSealError`, and
``kit.oauth.provider_tokens`` answers ``None`` (log in with the provider again).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

__all__ = ["ProviderTokens", "TokenSealError", "TokenSealer"]

_PREFIX = "v1."
_NONCE = 12


@dataclass(frozen=True)
class ProviderTokens:
    """What the provider's token endpoint gave at the last login or link."""

    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    scope: str | None = None


class TokenSealError(ValueError):
    """A sealed token is malformed, tampered with, moved, or sealed under another key."""


class TokenSealer:
    """Seals provider tokens with AES-256-GCM, bound to their provider account.

    Args:
        root: the token key (``SAASKIT_OAUTH__TOKEN_KEY``, else the signing key).
    """

    def __init__(self, root: str) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key = hmac.new(root.encode(), b"saaskit.oauth:provider-tokens", hashlib.sha256).digest()
        self._aead = AESGCM(key)

    def seal(self, value: str, *, provider: str, subject: str) -> str:
        """``value`` sealed for the account ``provider``/``subject``."""
        nonce = secrets.token_bytes(_NONCE)
        sealed = self._aead.encrypt(nonce, value.encode(), f"{provider}\0{subject}".encode())
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, *, provider: str, subject: str) -> str:
        """The value sealed for ``provider``/``subject``.

        Raises:
            TokenSealError: not a sealed value of this key and account.
        """
        from cryptography.exceptions import InvalidTag

        if not sealed.startswith(_PREFIX):
            raise TokenSealError("not a sealed provider token")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(_PREFIX) :].encode())
            value = self._aead.decrypt(
                raw[:_NONCE], raw[_NONCE:], f"{provider}\0{subject}".encode()
            )
        except (InvalidTag, ValueError) as error:
            raise TokenSealError("the sealed provider token does not open") from error
        return value.decode()

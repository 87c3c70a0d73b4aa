"""Keys of the 2FA feature: the TOTP secret sealed at rest, recovery codes hashed.

The kit has one key facility, :func:`saaskit.signing_key.signing_key` (``SAASKIT_SECRET_KEY``),
and no encryption library among its dependencies. Both keys here are derived from
``SAASKIT_MFA__SECRET_KEY`` when it is set, else from the signing key, with HMAC-SHA256
and a label per purpose (domain separation: a key of one purpose never serves another).

**Secrets** are sealed with encrypt-then-MAC built from HMAC-SHA256 only: a 16-byte
random nonce, the plaintext XORed with ``HMAC(k_enc, nonce || counter)`` blocks (HMAC as
a PRF in counter mode) and a 32-byte tag ``HMAC(k_mac, "v1" || nonce || ciphertext)``,
checked in constant time before anything is decrypted. A database dump without the key
yields no secret and a tampered value is refused. The format is versioned (``v1.``), so
a move to AES-GCM later is a new prefix, not a migration.

**Recovery codes** carry 80 random bits each, so a fast keyed hash is enough: nobody
brute-forces 2^80 candidates, and the key means a leaked table cannot even be checked
offline. A slow password hash (bcrypt) would cost a login ~10 hashes per attempt for
nothing.

Rotating ``SAASKIT_SECRET_KEY`` without a dedicated ``SAASKIT_MFA__SECRET_KEY`` makes
every sealed secret and code unreadable (their owners need an admin reset): set
``SAASKIT_MFA__SECRET_KEY`` before rotating the signing key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["SealError", "Sealer"]

_NONCE = 16
_TAG = 32
_VERSION = b"v1"


class SealError(ValueError):
    """A sealed value is malformed, tampered with, or sealed with another key."""


def _derive(root: bytes, label: str) -> bytes:
    return hmac.new(root, f"saaskit.mfa:{label}".encode(), hashlib.sha256).digest()


class Sealer:
    """Seals TOTP secrets and hashes recovery codes with keys derived from ``root``.

    Args:
        root: the feature's key (``SAASKIT_MFA__SECRET_KEY`` or the signing key).
    """

    def __init__(self, root: str) -> None:
        raw = root.encode()
        self._enc = _derive(raw, "secret-encryption")
        self._mac = _derive(raw, "secret-authentication")
        self._codes = _derive(raw, "recovery-codes")

    def _stream(self, nonce: bytes, length: int) -> bytes:
        blocks = (length + 31) // 32
        return b"".join(
            hmac.new(self._enc, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest()
            for i in range(blocks)
        )[:length]

    def _tag(self, nonce: bytes, ciphertext: bytes) -> bytes:
        return hmac.new(self._mac, _VERSION + nonce + ciphertext, hashlib.sha256).digest()

    def seal(self, plaintext: str) -> str:
        """``v1.<base64url(nonce || ciphertext || tag)>``."""
        data = plaintext.encode()
        nonce = secrets.token_bytes(_NONCE)
        ciphertext = bytes(a ^ b for a, b in zip(data, self._stream(nonce, len(data)), strict=True))
        blob = nonce + ciphertext + self._tag(nonce, ciphertext)
        return "v1." + base64.urlsafe_b64encode(blob).decode().rstrip("=")

    def open(self, sealed: str) -> str:
        """The plaintext of :meth:`seal`'s output.

        Raises:
            SealError: not a sealed value of this key (or tampered with).
        """
        version, _, body = sealed.partition(".")
        if version != "v1" or not body:
            raise SealError("unknown format")
        try:
            blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError as error:
            raise SealError("malformed") from error
        if len(blob) < _NONCE + _TAG:
            raise SealError("malformed")
        nonce, ciphertext, tag = blob[:_NONCE], blob[_NONCE:-_TAG], blob[-_TAG:]
        if not hmac.compare_digest(tag, self._tag(nonce, ciphertext)):
            raise SealError("wrong key or tampered")
        stream = self._stream(nonce, len(ciphertext))
        try:
            return bytes(a ^ b for a, b in zip(ciphertext, stream, strict=True)).decode()
        except UnicodeDecodeError as error:  # pragma: no cover - the tag was valid
            raise SealError("malformed") from error

    def code_hash(self, code: str) -> str:
        """The stored form of a recovery code (keyed HMAC-SHA256, hex)."""
        return hmac.new(self._codes, code.encode(), hashlib.sha256).hexdigest()

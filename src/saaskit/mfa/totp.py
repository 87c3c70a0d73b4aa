"""RFC 6238 time-based one-time passwords (TOTP), with the standard library only.

About twenty lines of ``hmac``: the kit needs the *time step* a code matched (to store
it and refuse a replay atomically, see :mod:`saaskit.mfa.service`), a constant-time
comparison, and nothing else, so no dependency is worth it. Parameters are the ones
every authenticator app supports: HMAC-SHA1, 6 digits, 30-second steps, a 160-bit
secret (RFC 4226 §4 recommends 160 bits). The tests check the RFC 6238 Appendix B
vectors.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

__all__ = ["DIGITS", "PERIOD", "code_at", "match", "new_secret", "otpauth_uri", "step_at"]

DIGITS = 6
PERIOD = 30
SECRET_BYTES = 20


def new_secret() -> str:
    """A random 160-bit secret, base32 without padding (what authenticator apps read)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    padded = secret.upper() + "=" * (-len(secret) % 8)
    return base64.b32decode(padded)


def step_at(timestamp: float, period: int = PERIOD) -> int:
    """The time step (RFC 6238 ``T``) that ``timestamp`` (epoch seconds) falls in."""
    return int(timestamp // period)


def code_at(secret: str, step: int, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    """The code of ``step`` (RFC 4226 HOTP with the step as the counter)."""
    mac = hmac.new(_key(secret), struct.pack(">Q", step), digest).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def match(secret: str, code: str, now: float, *, skew: int = 1) -> int | None:
    """The time step whose code is ``code``, within ``skew`` steps of ``now``; else None.

    Every candidate is compared (in constant time each), so the answer's timing does not
    say which step matched. The newest matching step wins.
    """
    if len(code) != DIGITS or not code.isdigit():
        return None
    current = step_at(now)
    found = None
    for step in range(current - skew, current + skew + 1):
        if hmac.compare_digest(code_at(secret, step), code):
            found = step
    return found


def otpauth_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://totp/...`` URI authenticator apps read (from a QR code).

    Key URI format: ``otpauth://totp/Issuer:account?secret=...&issuer=...``.
    """
    # The issuer is escaped on its own: a ":" in it must not split the label.
    label = f"{quote(issuer, safe='')}:{quote(account, safe='@')}"
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": PERIOD,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"

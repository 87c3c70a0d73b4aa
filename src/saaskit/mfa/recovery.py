"""Recovery codes: ``xxxx-xxxx-xxxx-xxxx``, 16 base32 letters and digits (80 random bits).

Typed back in any case, with or without the dashes or spaces; stored as a keyed hash
(:meth:`saaskit.mfa.sealing.Sealer.code_hash`).
"""

from __future__ import annotations

import base64
import secrets

__all__ = ["new_codes", "normalize"]

_BYTES = 10  # 80 bits: 16 base32 characters


def _one() -> str:
    raw = base64.b32encode(secrets.token_bytes(_BYTES)).decode().lower()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def new_codes(count: int) -> list[str]:
    """``count`` fresh, distinct recovery codes."""
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(_one())
    return sorted(codes)


def normalize(code: str) -> str:
    """The canonical form of a typed code (lowercase, grouped by four)."""
    raw = "".join(ch for ch in code.lower() if ch.isalnum())
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))

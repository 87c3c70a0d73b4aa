"""The API key format: a recognisable prefix, the owner, an identifier, a secret, a checksum.

A key reads ``<prefix><owner>_<identifier><secret><checksum>``, for example
``sk_live_3D_4fWq9XyZ0aBcK1mPqRs7TuVwXyZ01234567abcdefGHIJkl0Dk3aZ``:

- ``prefix``: ``sk_live_`` / ``sk_test_`` by default (a setting), so that secret scanners
  and people recognise a saaskit key;
- ``owner``: the base62 id of the user the key belongs to (its creator, for an
  organization key). It names the store slot of the key's cache entry, so the key and its
  user are read in one round trip (:mod:`saaskit.store.keys`); it grants nothing;
- ``identifier``: 12 random base62 characters, the indexed public id of the key (shown in
  lists, used to revoke);
- ``secret``: 32 random base62 characters (190 bits), never stored;
- ``checksum``: 6 base62 characters of the CRC32 of everything before it (like GitHub's
  tokens), so a mistyped or made-up key is refused before any store or database lookup.

Only ``HMAC-SHA256(server key, whole key)`` is stored (a high-entropy secret needs no slow
hash); the server key is derived from the kit's signing key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib
from dataclasses import dataclass

__all__ = ["ALPHABET", "ParsedKey", "checksum", "derive_hash_key", "generate", "hash_key", "parse"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_INDEX = {char: index for index, char in enumerate(ALPHABET)}
ID_LENGTH = 12
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
MAX_OWNER_LENGTH = 6  # 62**6 > 2**32: any 32-bit id
_TAIL = ID_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH


def _encode(number: int, width: int = 0) -> str:
    chars = []
    while number:
        number, digit = divmod(number, 62)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars)).rjust(width, "0") or "0"


def _decode(text: str) -> int:
    number = 0
    for char in text:
        number = number * 62 + _INDEX[char]
    return number


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def checksum(body: str) -> str:
    """The 6-character base62 CRC32 of ``body`` (the key without its checksum)."""
    return _encode(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


@dataclass(frozen=True, slots=True)
class ParsedKey:
    """A key whose form and checksum are right (nothing about whether it exists)."""

    owner_id: int
    public_id: str


def generate(prefix: str, owner_id: int) -> tuple[str, str]:
    """A new key of ``owner_id``: ``(key, public identifier)``."""
    public_id = _random(ID_LENGTH)
    body = f"{prefix}{_encode(owner_id)}_{public_id}{_random(SECRET_LENGTH)}"
    return body + checksum(body), public_id


def parse(prefix: str, key: str) -> ParsedKey | None:
    """The owner and identifier of ``key`` if its form and checksum are right, else None.

    No I/O: a wrong checksum costs a CRC32.
    """
    if not key.startswith(prefix) or len(key) > len(prefix) + MAX_OWNER_LENGTH + 1 + _TAIL:
        return None
    rest = key[len(prefix) :]
    owner, sep, tail = rest.partition("_")
    if (
        not sep
        or not owner
        or len(owner) > MAX_OWNER_LENGTH
        or len(tail) != _TAIL
        or any(char not in _INDEX for char in owner)
        or any(char not in _INDEX for char in tail)
    ):
        return None
    body, given = key[:-CHECKSUM_LENGTH], key[-CHECKSUM_LENGTH:]
    if not hmac.compare_digest(checksum(body), given):
        return None
    owner_id = _decode(owner)
    if not 1 <= owner_id <= 2**31 - 1:
        return None
    return ParsedKey(owner_id, tail[:ID_LENGTH])


def derive_hash_key(signing_key: str) -> bytes:
    """The HMAC key of stored key hashes, derived from the kit's signing key."""
    return hmac.new(signing_key.encode(), b"saaskit api keys v1", hashlib.sha256).digest()


def hash_key(hash_key_bytes: bytes, key: str) -> str:
    """The stored form of ``key``: hex HMAC-SHA256 under the derived server key."""
    return hmac.new(hash_key_bytes, key.encode(), hashlib.sha256).hexdigest()

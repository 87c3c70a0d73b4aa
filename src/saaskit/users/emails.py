"""Email addresses: the one canonical form, and the rules a new address must follow.

Every schema that takes an email uses one of two types:

- :data:`EmailAddress` for an address that is about to be stored (registration, a change of
  address, ``saaskit createsuperuser``): valid syntax, at most 64 octets before the ``@``
  (RFC 5321), at most 254 octets in all, and a local part that does not mix scripts;
- :data:`LookupEmail` for an address that is only looked up (login, forgot password,
  request verification): valid syntax only, so an account stored before these rules existed
  stays reachable, and a look-alike gets the same answer as any unknown address.

Both return the canonical form, the one :func:`saaskit.db.normalize_email` gives, so what is
looked up is exactly what was stored.

Example:
    ```python
    from pydantic import BaseModel
    from saaskit.users.emails import EmailAddress

    class Invite(BaseModel):
        email: EmailAddress  # " Alice@Example.COM" -> "alice@example.com"
    ```
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema
from pydantic.networks import validate_email as validate_email_syntax
from pydantic_core import PydanticCustomError

from saaskit.db.mixins import normalize_email

LOCAL_PART_MAX_OCTETS = 64
"""RFC 5321 section 4.5.3.1.1, counted in UTF-8 octets after normalisation."""

ADDRESS_MAX_OCTETS = 254
"""RFC 5321's 256-octet path less its angle brackets; well within the 320-character column."""

# Script sets UTS #39 (section 5.2, "Highly Restrictive") allows to mix: Latin with the
# scripts of Japanese, Chinese and Korean writing. Any other mix is refused.
ALLOWED_SCRIPT_MIXES = (
    frozenset({"Latin", "Han", "Hiragana", "Katakana"}),
    frozenset({"Latin", "Han", "Bopomofo"}),
    frozenset({"Latin", "Han", "Hangul"}),
)

# The script is the first word of a character's Unicode name ("CYRILLIC SMALL LETTER A"),
# except for these first words.
_SCRIPT_ALIASES = {
    "CJK": "Han",
    "IDEOGRAPHIC": "Han",
    "HENTAIGANA": "Hiragana",
    "ARABIC-INDIC": "Arabic",
    "EXTENDED": "Arabic",  # EXTENDED ARABIC-INDIC DIGIT ...
    "TURNED": "Latin",  # TURNED CAPITAL F, a Claudian letter
    "ROMAN": "Latin",  # ROMAN NUMERAL REVERSED ONE HUNDRED, a Claudian letter
}


def script_of(char: str) -> str | None:
    """The script of one character, or ``None`` for characters that belong to none.

    ``unicodedata`` has no Script property, but a character's name starts with its script
    ("LATIN SMALL LETTER A", "CYRILLIC SMALL LETTER A", "GREEK SMALL LETTER ALPHA", "CJK
    UNIFIED IDEOGRAPH-4E00"), which is exact for the scripts that matter here. Only letters
    and non-ASCII digits have a script: ASCII digits, punctuation, symbols and modifier
    letters are shared by every script, and combining marks take the script of the letter
    they sit on. Historic scripts whose names share a first word ("OLD ITALIC", "OLD
    PERSIAN") count as one, which can only make the check more lenient among them.
    """
    category = unicodedata.category(char)
    if category == "Lm" or category[0] not in "LN" or category in {"Nl", "No"}:
        return None
    if category == "Nd" and char.isascii():
        return None
    word = unicodedata.name(char, "").split(" ", 1)[0]
    if not word:  # letters Python has no name for (Tangut ideographs)
        return "Unknown"
    return _SCRIPT_ALIASES.get(word, word.title())


def script_mix(text: str) -> tuple[str, ...]:
    """The scripts of ``text`` when they are a mix that could be a look-alike, else ``()``.

    One script is fine, in any script (an all-Cyrillic local part is not a look-alike of a
    Latin one); so are the mixes of :data:`ALLOWED_SCRIPT_MIXES`. Anything else, such as
    Latin with Cyrillic or Greek, is returned sorted: ``("Cyrillic", "Latin")``.
    """
    scripts = {script for script in map(script_of, text) if script is not None}
    if len(scripts) <= 1 or any(scripts <= allowed for allowed in ALLOWED_SCRIPT_MIXES):
        return ()
    return tuple(sorted(scripts))


def canonical_email(value: str) -> str:
    """Check the syntax of ``value`` and return its canonical form (for lookups).

    NFKC comes first, so what email-validator checks is what will be stored: a fullwidth
    at-sign or full stop (U+FF20, U+FF0E) becomes an ASCII one and is checked as such.
    email-validator then turns an IDNA domain (``xn--...``) into its Unicode form, and
    :func:`normalize_email` lower-cases the result.

    Raises:
        pydantic_core.PydanticCustomError: the syntax is invalid (``value_error``).
    """
    _, address = validate_email_syntax(unicodedata.normalize("NFKC", value))
    return normalize_email(address)


def validate_new_email(value: str) -> str:
    """:func:`canonical_email`, plus the rules for an address about to be stored.

    Raises:
        pydantic_core.PydanticCustomError: ``value_error`` for invalid syntax,
            ``email_too_long`` over 64 octets before the ``@`` or 254 in all (both counted
            in UTF-8 after normalisation), ``email_mixed_scripts`` for a local part that
            mixes scripts. The messages say what is wrong without repeating the address.
    """
    address = canonical_email(value)
    local_part = address.rpartition("@")[0]
    if len(local_part.encode()) > LOCAL_PART_MAX_OCTETS:
        raise PydanticCustomError(
            "email_too_long",
            "the part before the @-sign is longer than {limit} bytes (UTF-8)",
            {"limit": LOCAL_PART_MAX_OCTETS},
        )
    if len(address.encode()) > ADDRESS_MAX_OCTETS:
        raise PydanticCustomError(
            "email_too_long",
            "the address is longer than {limit} bytes (UTF-8)",
            {"limit": ADDRESS_MAX_OCTETS},
        )
    scripts = script_mix(local_part)
    if scripts:
        raise PydanticCustomError(
            "email_mixed_scripts",
            "the part before the @-sign mixes scripts ({scripts}), so it could pass for "
            "another address; use the letters of one script",
            {"scripts": " and ".join(scripts)},
        )
    return address


_EMAIL_SCHEMA = WithJsonSchema({"type": "string", "format": "email"})

EmailAddress = Annotated[str, AfterValidator(validate_new_email), _EMAIL_SCHEMA]
"""An address to store: valid, canonical, within RFC 5321's limits, one script."""

LookupEmail = Annotated[str, AfterValidator(canonical_email), _EMAIL_SCHEMA]
"""An address to look up: valid syntax, canonical form; nothing else is refused."""

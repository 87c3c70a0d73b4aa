"""The canonical form of an email address and the rules for new addresses
(saaskit.users.emails, saaskit.db.normalize_email)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from saaskit.db import normalize_email
from saaskit.users.emails import (
    EmailAddress,
    LookupEmail,
    canonical_email,
    script_mix,
    validate_new_email,
)


class NewBody(BaseModel):
    email: EmailAddress


class LookupBody(BaseModel):
    email: LookupEmail


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("  Alice@Example.COM ", "alice@example.com"),
        ("\uff21\uff4c\uff49\uff43\uff45@example.com", "alice@example.com"),  # fullwidth
        ("\U0001d41a\U0001d425ice@example.com", "alice@example.com"),  # mathematical bold
        ("\ufb01nn@example.com", "finn@example.com"),  # the "fi" ligature
        ("stra\u00dfe@example.de", "stra\u00dfe@example.de"),  # sharp s is kept (not casefold)
        ("STRASSE@example.de", "strasse@example.de"),
        ("\u039f\u0394\u039f\u03a3@example.gr", "\u03bf\u03b4\u03bf\u03c2@example.gr"),
        ("e\u0301mile@example.fr", "\u00e9mile@example.fr"),  # composed, as NFC would
    ],
)
def test_normalize_email_applies_nfkc_then_lower_case(raw: str, canonical: str) -> None:
    assert normalize_email(raw) == canonical
    assert normalize_email(canonical) == canonical


def test_normalize_email_is_idempotent_on_tricky_input() -> None:
    samples = ["\u0130stanbul@example.com", "\u0130\u0323x@example.com", "\u1e9e@x.de", "\u2126"]
    for sample in samples:
        once = normalize_email(sample)
        assert normalize_email(once) == once


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Alice <ALICE@example.com>", "alice@example.com"),
        ("alice@xn--bcher-kva.example", "alice@b\u00fccher.example"),  # IDNA to Unicode
        ("alice@B\u00dcCHER.example", "alice@b\u00fccher.example"),
        ("alice\uff20example\uff0ecom", "alice@example.com"),  # fullwidth @ and dot
    ],
)
def test_validated_addresses_are_canonical(raw: str, canonical: str) -> None:
    assert validate_new_email(raw) == canonical_email(raw) == canonical
    assert NewBody(email=raw).email == LookupBody(email=raw).email == canonical
    assert normalize_email(canonical) == canonical


@pytest.mark.parametrize(
    ("text", "scripts"),
    [
        ("alice", ()),
        ("\u0430\u043b\u0438\u0441\u0430", ()),
        ("\u0430lice", ("Cyrillic", "Latin")),
        ("b\u03bfb", ("Greek", "Latin")),
        ("alice.2024_o'neil-x+y", ()),  # ASCII digits and punctuation belong to no script
        ("\u0430\u043b\u0438\u0441\u0430.2024", ()),
        ("caf\u00e9\u0301", ()),  # combining marks take the script of their letter
        ("alice\u0663", ("Arabic", "Latin")),  # ARABIC-INDIC DIGIT THREE
        ("\u5c71\u7530\u305f\u308d\u3046\u30a2", ()),  # Han, Hiragana, Katakana
        ("kim\ud55c\uad6d\u4eba", ()),  # Latin, Hangul, Han
        ("\u4e2d\u6587\u3105", ()),  # Han, Bopomofo
        ("\u3042\ud55c", ("Hangul", "Hiragana")),
        ("\u05d0\u0430", ("Cyrillic", "Hebrew")),
    ],
)
def test_script_mix_follows_the_highly_restrictive_profile(
    text: str, scripts: tuple[str, ...]
) -> None:
    assert script_mix(text) == scripts


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("\u0430lice@example.com", ["mixes", "Cyrillic and Latin"]),
        ("a" * 65 + "@example.com", ["64 bytes", "before the @-sign"]),
        ("\u00e9" * 33 + "@example.com", ["64 bytes"]),
        ("not an address", ["not a valid email address"]),
    ],
)
def test_new_addresses_are_refused_with_a_reason_that_does_not_echo_them(
    raw: str, words: list[str]
) -> None:
    with pytest.raises(ValidationError) as caught:
        NewBody(email=raw)
    [error] = caught.value.errors(include_input=False)
    for word in words:
        assert word in error["msg"]
    assert raw.split("@")[0] not in error["msg"]


def test_lookups_accept_what_new_addresses_refuse() -> None:
    # Accounts stored before the rules existed must still be reachable.
    for raw in ("\u0430lice@example.com", "a" * 65 + "@example.com"):
        assert LookupBody(email=raw).email == raw
    with pytest.raises(ValidationError):
        LookupBody(email="not an address")


def test_the_whole_address_is_at_most_254_octets_after_lower_casing() -> None:
    # U+0130 (2 octets) lower-cases to "i" and a combining dot (3 octets).
    domain = "d" * 60 + "." + "d" * 60 + "." + "d" * 60 + "." + "d" * 40 + ".com"
    local = "\u0130" * 10
    assert len((local + "@" + domain).encode()) == 248  # 258 once lower-cased
    with pytest.raises(ValidationError) as caught:
        NewBody(email=local + "@" + domain)
    assert "254 bytes" in caught.value.errors()[0]["msg"]
    assert len(NewBody(email="\u0130" * 7 + "@" + domain).email.encode()) <= 254

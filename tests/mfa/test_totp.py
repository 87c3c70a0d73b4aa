"""RFC 6238 codes, the otpauth URI, sealing and recovery codes."""

from __future__ import annotations

import base64

import pytest

from saaskit.mfa import totp
from saaskit.mfa.recovery import new_codes, normalize
from saaskit.mfa.sealing import Sealer, SealError

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc_6238_appendix_b_sha1_vectors(timestamp: int, expected: str) -> None:
    assert totp.code_at(RFC_SECRET, totp.step_at(timestamp), digits=8) == expected


def test_match_answers_the_step_within_one_step_of_skew() -> None:
    secret = totp.new_secret()
    now = 1_800_000_000.0
    step = totp.step_at(now)
    for offset in (-1, 0, 1):
        assert totp.match(secret, totp.code_at(secret, step + offset), now) == step + offset
    for offset in (-2, 2):
        code = totp.code_at(secret, step + offset)
        near = {totp.code_at(secret, step + o) for o in (-1, 0, 1)}
        if code not in near:  # a collision with a valid code is 3 in a million
            assert totp.match(secret, code, now) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12345a", " 123456"])
def test_malformed_codes_never_match(code: str) -> None:
    assert totp.match(totp.new_secret(), code, 1_800_000_000.0) is None


def test_secrets_are_160_random_bits() -> None:
    secret = totp.new_secret()
    assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) == 20
    assert secret != totp.new_secret()


def test_the_otpauth_uri() -> None:
    uri = totp.otpauth_uri("ABC", account="a b@example.com", issuer="Acme Inc")
    assert uri == (
        "otpauth://totp/Acme%20Inc:a%20b@example.com?secret=ABC&issuer=Acme%20Inc"
        "&algorithm=SHA1&digits=6&period=30"
    )


def test_a_colon_in_the_issuer_does_not_split_the_label() -> None:
    uri = totp.otpauth_uri("ABC", account="a@example.com", issuer="Acme: EU")
    assert uri.startswith("otpauth://totp/Acme%3A%20EU:a@example.com?")


def test_sealed_secrets_open_with_the_same_key_only() -> None:
    sealer = Sealer("k" * 40)
    sealed = sealer.seal("JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert sealed != sealer.seal("JBSWY3DPEHPK3PXP")  # a fresh nonce each time
    assert sealer.open(sealed) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(SealError):
        Sealer("x" * 40).open(sealed)


@pytest.mark.parametrize("position", [0, 15, 16, 31, 32, 63])  # nonce, ciphertext, tag
def test_a_tampered_seal_is_refused(position: int) -> None:
    sealer = Sealer("k" * 40)
    sealed = sealer.seal("JBSWY3DPEHPK3PXP")
    body = sealed.removeprefix("v1.")
    blob = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert len(blob) == 64
    blob[position] ^= 0x01
    tampered = "v1." + base64.urlsafe_b64encode(bytes(blob)).decode().rstrip("=")
    with pytest.raises(SealError):
        sealer.open(tampered)


@pytest.mark.parametrize("value", ["", "v1.", "v2.abcd", "v1.!!!!", "v1.abcd", "plain"])
def test_malformed_seals_are_refused(value: str) -> None:
    with pytest.raises(SealError):
        Sealer("k" * 40).open(value)


def test_recovery_code_hashes_are_keyed() -> None:
    code = new_codes(1)[0]
    assert Sealer("a" * 40).code_hash(code) == Sealer("a" * 40).code_hash(code)
    assert Sealer("a" * 40).code_hash(code) != Sealer("b" * 40).code_hash(code)


def test_recovery_codes_are_distinct_and_normalized() -> None:
    codes = new_codes(10)
    assert len(set(codes)) == 10
    for code in codes:
        assert len(code) == 19
        assert normalize(code.upper().replace("-", " ")) == code
        assert normalize(code.replace("-", "")) == code

"""Checksum and structure validators: known-good values, one-character corruptions, edge cases."""

from __future__ import annotations

import base64
import datetime as dt
import json
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detectors import validators as v


def luhn_complete(prefix: str, length: int) -> str:
    """Append the check digit that makes ``prefix`` + filler Luhn-valid (independent of v.luhn)."""
    body = (prefix + "7" * length)[: length - 1]
    for d in "0123456789":
        cand = body + d
        total = sum(
            (int(c) * 2 - 9 if int(c) * 2 > 9 else int(c) * 2) if i % 2 else int(c)
            for i, c in enumerate(reversed(cand))
        )
        if total % 10 == 0:
            return cand
    raise AssertionError("unreachable")


# --- luhn -------------------------------------------------------------------------------

@pytest.mark.parametrize("number", ["4539 1488 0343 6467", "378282246310005", "6011-0009-9013-9424", "79927398713"])
def test_luhn_accepts_valid_numbers(number: str) -> None:
    assert v.luhn(number)


@pytest.mark.parametrize("number", ["4539148803436468", "378282246310006", "79927398710", "0", ""])
def test_luhn_rejects_invalid_numbers(number: str) -> None:
    assert not v.luhn(number)


@given(st.text(alphabet="0123456789", min_size=12, max_size=18), st.integers(min_value=0, max_value=17))
def test_luhn_detects_every_single_digit_change(digits: str, pos: int) -> None:
    number = luhn_complete(digits, len(digits) + 1)
    assert v.luhn(number)
    pos %= len(number)
    changed = number[:pos] + str((int(number[pos]) + 1) % 10) + number[pos + 1:]
    assert not v.luhn(changed)


# --- GB 11643 -----------------------------------------------------------------------------

def test_gb11643_check_digit_of_the_standard_example() -> None:
    assert v.gb11643_check_digit("11010519491231002") == "X"
    assert v.cn_resident_id("11010519491231002X")
    assert v.cn_resident_id("11010519491231002x")


def test_gb11643_needs_17_digits() -> None:
    with pytest.raises(ValueError):
        v.gb11643_check_digit("1101051949123100")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("110105194912310021", "wrong check digit"),
        ("110105194902300028", "30 February"),
        ("440524188001010014", "born before 1900"),
        ("991234199001010010", "no such province"),
        ("11010519491231002", "17 characters"),
    ],
)
def test_cn_resident_id_rejects(value: str, why: str) -> None:
    assert not v.cn_resident_id(value), why


def test_cn_resident_id_rejects_birth_dates_in_the_future() -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    first17 = "110105" + tomorrow.strftime("%Y%m%d") + "001"
    value = first17 + v.gb11643_check_digit(first17)
    assert not v.cn_resident_id(value)
    assert v.cn_resident_id(value, today=tomorrow)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)), st.integers(0, 999))
def test_cn_resident_id_accepts_any_real_birth_date(born: dt.date, seq: int) -> None:
    first17 = f"320102{born:%Y%m%d}{seq:03d}"
    assert v.cn_resident_id(first17 + v.gb11643_check_digit(first17))


# --- ISO 13616 -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "iban",
    ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "FR1420041010050500013M02606",
     "NL91ABNA0417164300", "NO9386011117947", "gb82west12345698765432"],
)
def test_iso13616_accepts_valid_ibans(iban: str) -> None:
    assert v.iso13616(iban)


@pytest.mark.parametrize(
    ("iban", "why"),
    [
        ("GB82 WEST 1234 5698 7654 33", "check digits"),
        ("DE8937040044053201300", "too short for DE"),
        ("DE893704004405320130001", "too long for DE"),
        ("XX82WEST12345698765432", "unknown country"),
        ("GB82-WEST-1234", "punctuation"),
    ],
)
def test_iso13616_rejects(iban: str, why: str) -> None:
    assert not v.iso13616(iban), why


def test_iban_lengths_cover_the_common_countries() -> None:
    assert (v.iban_length("DE"), v.iban_length("gb"), v.iban_length("FR"), v.iban_length("ZZ")) == (22, 22, 27, None)


# --- US SSN ------------------------------------------------------------------------------------

@pytest.mark.parametrize("ssn", ["723-65-6991", "145 41 5008", "001010001", "899-99-9998"])
def test_us_ssn_accepts_valid_ranges(ssn: str) -> None:
    assert v.us_ssn(ssn)


@pytest.mark.parametrize(
    "ssn",
    ["000-12-3456", "666-34-9994", "900-12-3456", "987-65-4321", "123-00-4567", "123-45-0000",
     "078-05-1120", "219-09-9999", "123-45-6789", "111-11-1111", "111-22-3333", "12-345-6789"],
)
def test_us_ssn_rejects_invalid_and_advertised(ssn: str) -> None:
    assert not v.us_ssn(ssn)


# --- JWT ------------------------------------------------------------------------------------------

def b64url(obj: object) -> str:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_jwt(header: dict[str, object], payload: object, sig: str = b64url(b"s" * 32)) -> str:
    return f"{b64url(header)}.{b64url(payload)}.{sig}"


def test_jwt_parts_decodes_header_and_payload() -> None:
    token = make_jwt({"alg": "RS256", "typ": "JWT"}, {"sub": "42"})
    assert v.jwt_parts(token) == ({"alg": "RS256", "typ": "JWT"}, {"sub": "42"})


def test_jwt_unsigned_only_with_alg_none() -> None:
    assert v.jwt_parts(make_jwt({"alg": "none"}, {"sub": "1"}, sig="")) is not None
    assert v.jwt_parts(make_jwt({"alg": "HS256"}, {"sub": "1"}, sig="")) is None
    assert v.jwt_parts(make_jwt({"alg": "none"}, {"sub": "1"})) is None


@pytest.mark.parametrize(
    "token",
    [
        make_jwt({"typ": "JWT"}, {"sub": "1"}),  # no alg
        make_jwt({"alg": "HS256"}, ["not", "an", "object"]),
        b64url({"alg": "HS256"}) + "." + b64url(b"\xff\xfe garbage") + "." + b64url(b"s" * 32),
        make_jwt({"alg": "HS256"}, {"sub": "1"}) + ".extra",
        make_jwt({"alg": "HS256"}, {"sub": "1"}, sig="abc"),  # too short to be a signature
    ],
)
def test_jwt_parts_rejects_malformed(token: str) -> None:
    assert v.jwt_parts(token) is None


def test_jwt_parts_survives_deeply_nested_payload() -> None:
    token = f"{b64url({'alg': 'HS256'})}.{b64url(b'[' * 100_000 + b']' * 100_000)}.{b64url(bytes(32))}"
    assert v.jwt_parts(token) is None


# --- private key blocks ------------------------------------------------------------------------------

def pem_body(raw: bytes) -> str:
    b = base64.b64encode(raw).decode()
    return "\n" + "\n".join(b[i:i + 64] for i in range(0, len(b), 64)) + "\n"


def test_private_key_block_accepts_der_and_openssh_bodies() -> None:
    der = b"\x30\x82\x01\x00" + bytes(range(200))
    assert v.private_key_block("RSA PRIVATE KEY", "RSA PRIVATE KEY", pem_body(der)) == der
    assert v.is_der_sequence(der)
    ossh = b"openssh-key-v1\0" + bytes(range(100))
    assert v.private_key_block("OPENSSH PRIVATE KEY", "OPENSSH PRIVATE KEY", pem_body(ossh)) == ossh
    assert not v.is_der_sequence(ossh)


def test_private_key_block_skips_legacy_encryption_headers() -> None:
    body = "\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n" + pem_body(bytes(range(1, 200)))
    assert v.private_key_block("RSA PRIVATE KEY", "RSA PRIVATE KEY", body) is not None


@pytest.mark.parametrize(
    ("label", "end", "body", "why"),
    [
        ("RSA PRIVATE KEY", "EC PRIVATE KEY", pem_body(b"\x30" + bytes(100)), "labels differ"),
        ("PUBLIC KEY", "PUBLIC KEY", pem_body(b"\x30" + bytes(100)), "public key"),
        ("CERTIFICATE", "CERTIFICATE", pem_body(b"\x30" + bytes(100)), "certificate"),
        ("RSA PRIVATE KEY", "RSA PRIVATE KEY", "\n...\n", "elided body"),
        ("RSA PRIVATE KEY", "RSA PRIVATE KEY", pem_body(b"\x30" + bytes(10)), "too short"),
        ("OPENSSH PRIVATE KEY", "OPENSSH PRIVATE KEY", pem_body(b"\x30" + bytes(100)), "no openssh magic"),
        ("RSA PRIVATE KEY", "RSA PRIVATE KEY", "\nMIIE<your key here>\n", "not base64"),
    ],
)
def test_private_key_block_rejects(label: str, end: str, body: str, why: str) -> None:
    assert v.private_key_block(label, end, body) is None, why


# --- GitHub checksum -----------------------------------------------------------------------------------

def base62(n: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = alphabet[r] + out
    return out.rjust(6, "0")


def test_github_checksum_matches_crc32_of_the_random_part() -> None:
    body = "p2r7b8XWmMZHoawzfMpUqiFxpdF6Zy"
    token = "ghp_" + body + base62(zlib.crc32(body.encode()))
    assert v.github_checksum(token)
    assert not v.github_checksum(token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not v.github_checksum("ghp_short")


def test_entropy_and_classes() -> None:
    assert v.shannon_entropy("aaaa") == 0.0
    assert v.shannon_entropy("abcd") == 2.0
    assert v.char_classes("aB3/") == 4 and v.char_classes("abc") == 1


def test_continues_group() -> None:
    text = "x 4111 2222 3333 4444 5 y"
    assert v.continues_group(text, 2, 21)
    assert not v.continues_group("x 4111 2222 3333 4444 y", 2, 21)

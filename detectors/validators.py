"""Checksum and structure validators for the PII and secret detectors.

Pure functions over ``str``: no I/O, no state. The detectors call them from
their ``validate()`` hooks so a pattern that merely *looks* like an identifier
(an order number, a timestamp, a hash) is dropped unless its check digits and
structure agree.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import math
import re
import zlib
from collections import Counter
from typing import Any

__all__ = [
    "luhn",
    "gb11643_check_digit",
    "cn_resident_id",
    "iban_length",
    "iso13616",
    "us_ssn",
    "jwt_parts",
    "private_key_block",
    "is_der_sequence",
    "github_checksum",
    "shannon_entropy",
    "char_classes",
    "continues_group",
    "ends_inside_token",
]


# --- payment cards ------------------------------------------------------------

_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn(number: str) -> bool:
    """ISO/IEC 7812 Luhn check over the digits of ``number`` (separators ignored)."""
    digits = [ord(c) - 48 for c in number if "0" <= c <= "9"]
    if len(digits) < 2:
        return False
    return (sum(digits[-1::-2]) + sum(_LUHN_DOUBLE[d] for d in digits[-2::-2])) % 10 == 0


# --- PRC resident identity number (GB 11643-1999) -------------------------------

_GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_GB11643_CHECK = "10X98765432"
#: first two digits: provinces (GB/T 2260), plus 71/81/82/83 (Taiwan, HK, Macao, residence permits)
_CN_PROVINCES = frozenset(
    [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83]
)


def gb11643_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need exactly 17 ASCII digits")
    s = sum(int(c) * w for c, w in zip(first17, _GB11643_WEIGHTS))
    return _GB11643_CHECK[s % 11]


def cn_resident_id(value: str, today: _dt.date | None = None) -> bool:
    """18-character resident ID: province code, real birth date (1900..today), check digit."""
    if len(value) != 18 or not value[:17].isascii() or not value[:17].isdigit():
        return False
    if int(value[:2]) not in _CN_PROVINCES:
        return False
    try:
        born = _dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > (today or _dt.date.today()):
        return False
    return gb11643_check_digit(value[:17]) == value[17].upper()


# --- IBAN (ISO 13616) -----------------------------------------------------------

#: total IBAN length per country (SWIFT IBAN registry, plus the partner countries)
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}


def iban_length(country: str) -> int | None:
    return _IBAN_LENGTHS.get(country.upper())


def iso13616(iban: str) -> bool:
    """Country known, length right for the country, check digits valid (mod 97 == 1)."""
    s = "".join(iban.split()).upper()
    if len(s) < 5 or not s.isascii() or not s.isalnum():
        return False
    if iban_length(s[:2]) != len(s) or not s[2:4].isdigit() or s[2:4] in ("00", "01", "99"):
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


# --- US social security number --------------------------------------------------

#: numbers the SSA itself lists as misused/advertised, and the usual documentation ones
_SSN_KNOWN_FAKE = frozenset(["078051120", "219099999", "457555462", "123456789"])


def us_ssn(value: str) -> bool:
    """Area 001-899 except 666, group 01-99, serial 0001-9999; known fakes rejected.

    Area 9xx also covers 987-65-4320..4329, the range reserved for advertising.
    """
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) != 9 or not digits.isascii():
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area == "000" or area == "666" or area[0] == "9":
        return False
    if group == "00" or serial == "0000":
        return False
    if digits in _SSN_KNOWN_FAKE or len(set(digits)) == 1:
        return False
    if len(set(area)) == len(set(group)) == len(set(serial)) == 1:  # 111-22-3333 style samples
        return False
    return True


# --- JSON Web Tokens ---------------------------------------------------------------

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def _b64url_json(part: str) -> Any:
    if not part or not _B64URL.match(part) or len(part) % 4 == 1:
        return None
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        return json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: a crafted payload of deeply nested arrays must not stop the scan
        return None


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(header, payload) of a structurally valid JWS compact token, else ``None``.

    The header must be a JSON object with ``alg``; the payload a JSON object;
    the signature may be empty only for ``alg: none``.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header, payload = _b64url_json(parts[0]), _b64url_json(parts[1])
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        return None
    if not isinstance(payload, dict):
        return None
    sig = parts[2]
    if not _B64URL.match(sig):
        return None
    if header["alg"].lower() == "none":
        return (header, payload) if sig == "" else None
    # the shortest real signature is HS256's 32 bytes = 43 base64url characters;
    # accept a little less so shortened test tokens still count
    if len(sig) < 16 or len(sig) % 4 == 1:
        return None
    return header, payload


# --- PEM / OpenSSH private keys -----------------------------------------------------

_PEM_HEADER_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:")
_B64_LINE = re.compile(r"^[A-Za-z0-9+/=]+$")


def private_key_block(label: str, end_label: str, body: str) -> bytes | None:
    """The decoded body of a plausible private key block, else ``None``.

    ``label``/``end_label`` are the words between BEGIN/END and the dashes
    (``RSA PRIVATE KEY``): they must match and name a private key. The body must
    be base64 of at least 48 bytes (the smallest real keys, Ed25519 PKCS#8);
    legacy encrypted PEM headers (``Proc-Type``, ``DEK-Info``) and PGP armour
    headers and checksum are skipped. OpenSSH bodies must carry their magic.
    """
    if label != end_label or "PRIVATE KEY" not in label:
        return None
    lines = [ln.strip() for ln in body.strip().splitlines()]
    if "PGP" in label:
        # armour headers end at the first blank line; the last line may be "=CRC24"
        if "" in lines:
            head, lines = lines[: lines.index("")], lines[lines.index("") + 1:]
            if not all(_PEM_HEADER_LINE.match(h) for h in head):
                return None
        if lines and lines[-1].startswith("=") and len(lines[-1]) == 5:
            lines = lines[:-1]
    else:
        while lines and (_PEM_HEADER_LINE.match(lines[0]) or lines[0] == ""):
            lines = lines[1:]
    # text extracted from PDF or Word may join the body lines with spaces
    lines = ["".join(ln.split()) for ln in lines if ln]
    if not lines or not all(_B64_LINE.match(ln) for ln in lines):
        return None
    data = "".join(lines)
    try:
        raw = base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 48:
        return None
    if label == "OPENSSH PRIVATE KEY" and not raw.startswith(b"openssh-key-v1\0"):
        return None
    return raw


def is_der_sequence(raw: bytes) -> bool:
    """Whether bytes start like DER (PKCS#1, PKCS#8, SEC1 keys are all a SEQUENCE)."""
    return len(raw) > 2 and raw[0] == 0x30 and (raw[1] < 0x80 or raw[1] in (0x81, 0x82, 0x83))


# --- GitHub tokens -------------------------------------------------------------------

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(n: int, width: int) -> str:
    out = []
    while n:
        n, r = divmod(n, 62)
        out.append(_BASE62[r])
    return "".join(reversed(out)).rjust(width, "0")


def github_checksum(token: str) -> bool:
    """Whether a classic token (``ghp_`` + 30 random + 6 base62 CRC32) carries its checksum."""
    if len(token) != 40 or token[3] != "_":
        return False
    body, check = token[4:34], token[34:]
    return _base62(zlib.crc32(body.encode("ascii", "replace")), 6) == check


# --- randomness and token boundaries ----------------------------------------------------------

def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s own character distribution."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def char_classes(value: str) -> int:
    """How many of lower, upper, digit, other a value mixes (0..4)."""
    # map over the str methods: a third of the cost of generator expressions (password verify)
    return (
        any(map(str.islower, value))
        + any(map(str.isupper, value))
        + any(map(str.isdigit, value))
        + (not all(map(str.isalnum, value)))
    )


def continues_group(text: str, start: int, end: int) -> bool:
    """Whether a grouped number at ``text[start:end]`` is part of a longer grouped run.

    ``4434 1925 4122 4823`` inside ``0086 4434 1925 4122 4823 77`` is not a card:
    a separator followed (or preceded) by another digit extends the run.
    """
    return bool(re.match(r"[ -][0-9]", text[end:end + 2])) or bool(
        re.fullmatch(r"[0-9][ -]", text[max(0, start - 2):start])
    )


def ends_inside_token(text: str, end: int, extra: str = "") -> bool:
    """Whether the token continues past ``end`` in the *whole* text.

    The engine verifies in a window and ``re`` treats the window's end as the
    end of the string, so a lookahead there cannot see that a long token goes on.
    """
    return end < len(text) and (text[end].isascii() and text[end].isalnum() or text[end] in extra)

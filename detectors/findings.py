"""What a detector reports, and how its evidence is redacted.

A :class:`Match` is internal to the scanner and holds the raw value; it never
leaves :mod:`detectors`. A :class:`Finding` is what everything else sees: the
value only as a masked rendering and a keyed HMAC (DESIGN.md, "Evidence never
leaves in clear").
"""

from __future__ import annotations

import enum
import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> "Severity":
        try:
            return cls[value.upper()]
        except KeyError as e:
            raise ValueError(f"unknown severity {value!r} (low, medium, high, critical)") from e


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value stands. ``path`` uses the ``outer.zip!inner/file`` form."""

    path: str
    start: int  # character offset in the extracted text of the part
    end: int
    line: int | None = None
    part: str | None = None  # body, header, footer, comment, notes, attachment ...
    page: int | None = None
    sheet: str | None = None
    cell: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path, "start": self.start, "end": self.end}
        for key in ("line", "part", "page", "sheet", "cell"):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        return d


@dataclass(slots=True)
class Match:
    """A verified candidate, still holding the raw value (scanner-internal)."""

    detector: str
    start: int
    end: int
    value: str
    confidence: float
    severity: Severity
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Finding:
    detector: str
    severity: Severity
    confidence: float
    location: Location
    masked: str
    hash: str
    attributes: dict[str, Any] = field(default_factory=dict)
    value: str | None = None  # only with an explicit --show-values

    @property
    def family(self) -> str:
        return self.detector.split(".", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "detector": self.detector,
            "severity": self.severity.label,
            "confidence": round(self.confidence, 3),
            "path": self.location.path,
            "location": self.location.to_dict(),
            "masked": self.masked,
            "hash": self.hash,
        }
        if self.attributes:
            d["attributes"] = self.attributes
        if self.value is not None:
            d["value"] = self.value
        return d


_HIDE = re.compile(r"[^ \-\n]")  # separators stay, so the shape is recognisable


def mask(value: str, *, keep_start: int | None = None, keep_end: int | None = None) -> str:
    """Render a value with its middle hidden: ``6501**********0877``.

    Short values keep less so a mask never reveals most of a secret; separators
    (spaces, dashes) are kept so the analyst recognises the shape.
    """
    n = len(value)
    if keep_start is None or keep_end is None:
        if n >= 16:
            keep_start, keep_end = 4, 4
        elif n >= 10:
            keep_start, keep_end = 3, 2
        elif n >= 6:
            keep_start, keep_end = 1, 1
        else:
            keep_start, keep_end = 0, 0
    if keep_start + keep_end >= n:
        return "*" * n if n else ""
    middle = _HIDE.sub("*", value[keep_start:n - keep_end])
    return value[:keep_start] + middle + value[n - keep_end:]


_NOT_ID_CHAR = re.compile(r"[^0-9A-Z]")
_CN_PREFIX = re.compile(r"^(?:0086|86)(?=1[3-9][0-9]{9}$)")


def canonical(detector: str, value: str) -> str:
    """The form of a value that is hashed: one value, one hash, however it was written.

    ``139-1859-4685``, ``139 1859 4685``, ``+86 13918594685`` and full-width digits are the same
    mobile number; a card or IBAN in print groups is the same account. Secrets stay case-sensitive
    (``Password1`` and ``password1`` are different secrets).
    """
    if detector == "pii.email":
        return unicodedata.normalize("NFKC", value).strip().lower()
    if detector in ("pii.cn_resident_id", "pii.cn_mobile", "pii.payment_card", "pii.us_ssn", "pii.iban"):
        compact = _NOT_ID_CHAR.sub("", unicodedata.normalize("NFKC", value).upper())
        return _CN_PREFIX.sub("", compact) if detector == "pii.cn_mobile" else compact
    return "".join(value.split())


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 of the value with the organisation's key, hex encoded.

    The same value hashes the same on every endpoint of one organisation, so the
    collector can correlate copies without ever holding the value. Values of
    findings are passed through :func:`canonical` first.
    """
    normalised = "".join(value.split())
    # hmac.digest is OpenSSL's one-shot: same bytes as hmac.new(...).hexdigest(), 40 % less per finding
    return hmac.digest(key, normalised.encode("utf-8", "surrogatepass"), "sha256").hex()

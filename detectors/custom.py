"""Detectors an organisation declares in its own policy file (``custom.*``).

Two kinds:

* ``keywords``: a dictionary of terms (thousands are fine) matched in one
  Aho-Corasick pass, whatever the number of terms;
* ``regex``: a pattern with an optional named checksum validator, run as one
  Python ``re`` pass of its own (never inside the Hyperscan database: an
  organisation's pattern must not be able to crash the engine).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

import ahocorasick

from detectors import validators
from detectors.base import Detector
from detectors.extract.segment import Segment
from detectors.findings import Match, Severity

#: named validators a custom regex may ask for (policy key ``validator``)
VALIDATORS: dict[str, Callable[[str], bool]] = {
    "luhn": lambda v: validators.luhn(re.sub(r"[^0-9]", "", v)),
    "gb11643": lambda v: validators.cn_resident_id(v.upper()),
    "iban": lambda v: validators.iso13616(v.replace(" ", "").upper()),
    "us_ssn": validators.us_ssn,
    "jwt": lambda v: validators.jwt_parts(v) is not None,
    "entropy": lambda v: validators.shannon_entropy(v) >= 3.0,
}


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


class KeywordDetector(Detector):
    """Matches any of many literal terms with one Aho-Corasick automaton."""

    def __init__(
        self,
        detector_id: str,
        keywords: Sequence[str],
        *,
        severity: Severity = Severity.MEDIUM,
        confidence: float = 0.7,
        case_sensitive: bool = False,
        whole_word: bool = True,
        hotwords: Sequence[str] = (),
        exclusions: Sequence[str] = (),
    ) -> None:
        self.id = detector_id  # type: ignore[misc]  # instance-level id for policy-declared detectors
        self.severity = severity  # type: ignore[misc]
        self.hotwords = tuple(hotwords)  # type: ignore[misc]
        self.exclusions = tuple(exclusions)  # type: ignore[misc]
        self._confidence = confidence
        self._case_sensitive = case_sensitive
        self._whole_word = whole_word
        self._automaton = ahocorasick.Automaton()
        for term in keywords:
            term = term.strip()
            if term:
                key = term if case_sensitive else term.lower()
                self._automaton.add_word(key, (len(key), term))
        if len(self._automaton) == 0:
            raise ValueError("a keyword detector needs at least one keyword")
        self._automaton.make_automaton()

    def scan(self, segment: Segment) -> Iterator[Match]:
        text = segment.text
        # str.lower() can change lengths for a few non-ASCII characters; only
        # trust offsets from the lowered text when the lengths agree.
        hay = text if self._case_sensitive else text.lower()
        if len(hay) != len(text):
            hay = text
        last_end = -1
        for end, (length, term) in self._automaton.iter_long(hay):
            start = end - length + 1
            if start < last_end:
                continue
            if self._whole_word and _is_word_char(term[0]) and start > 0 and _is_word_char(text[start - 1]):
                continue
            if self._whole_word and _is_word_char(term[-1]) and end + 1 < len(text) and _is_word_char(text[end + 1]):
                continue
            last_end = end + 1
            yield Match(self.id, start, end + 1, text[start:end + 1], self._confidence, self.severity,
                        {"keyword_set": self.id})


class CustomRegexDetector(Detector):
    """A policy-declared regex, optionally verified by a named validator."""

    def __init__(
        self,
        detector_id: str,
        pattern: str,
        *,
        validator: str | None = None,
        severity: Severity = Severity.MEDIUM,
        confidence: float = 0.6,
        case_sensitive: bool = True,
        hotwords: Sequence[str] = (),
        exclusions: Sequence[str] = (),
    ) -> None:
        self.id = detector_id  # type: ignore[misc]
        self.severity = severity  # type: ignore[misc]
        self.hotwords = tuple(hotwords)  # type: ignore[misc]
        self.exclusions = tuple(exclusions)  # type: ignore[misc]
        self._confidence = confidence
        self._pattern = re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)
        self._group: str | int = "value" if "value" in self._pattern.groupindex else 0
        self._validator = VALIDATORS[validator] if validator else None

    def scan(self, segment: Segment) -> Iterator[Match]:
        for m in self._pattern.finditer(segment.text):
            value = m.group(self._group)
            if not value or (self._validator is not None and not self._validator(value)):
                continue
            yield Match(self.id, m.start(self._group), m.end(self._group), value, self._confidence, self.severity)

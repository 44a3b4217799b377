"""The context pass: runs after matching, adjusts confidence from nearby words.

Kept separate from the detectors (as in Presidio's context enhancer) so an
organisation's policy can add hotwords and exclusions without touching a
detector, and so the regexes stay simple.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from detectors.findings import Match
from detectors.validators import char_classes, shannon_entropy

HOTWORD_BOOST = 0.3
#: what an exclusion word takes off a value it cannot drop (see :func:`exclusion_confidence`)
EXCLUSION_PENALTY = 0.2
#: the default policy floor: a kept value is never pushed below it by an exclusion word alone
EXCLUSION_FLOOR = 0.5
#: placeholder shapes that are never real values, whatever the detector
PLACEHOLDER = re.compile(
    r"^(?:x{4,}|X{4,}|\*{3,}|0{6,}|1234567890?|<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|%\([^)]*\)s)$"
)
#: detectors whose every match already passed a checksum and structure validator
#: (GB 11643 check character + birth date, Luhn + issuer, ISO 13616 mod 97, SSA
#: ranges). Their documented examples are rejected by the detectors themselves
#: (11010519491231002X, the schemes' test PANs, DE89 3704 ..., 078-05-1120), so
#: an exclusion word next to one of these is no reason to drop it: appending
#: "e.g." or "示例" to a line must not hide real data from the scanner.
CHECKSUM_VALIDATED = frozenset(["pii.cn_resident_id", "pii.payment_card", "pii.iban", "pii.us_ssn"])
#: words inside a secret's value that make it a stand-in, whatever its shape
_STAND_IN = re.compile(
    r"(?i)example|sample|dummy|placeholder|changeme|change_me|your|fake|test|demo|secret|passw|"
    r"xxxx|1234|abcd|qwerty|示例|样例|樣例|测试|測試"
)


@dataclass(frozen=True, slots=True)
class ContextRules:
    hotwords: tuple[str, ...]
    exclusions: tuple[str, ...]
    window: int

    @classmethod
    def build(cls, hotwords: Iterable[str], exclusions: Iterable[str], window: int) -> "ContextRules":
        return cls(tuple(w.lower() for w in hotwords), tuple(w.lower() for w in exclusions), window)


def _near(text: str, start: int, end: int, window: int) -> str:
    return text[max(0, start - window): end + window].lower()


def strong_secret(value: str) -> bool:
    """Does a secret's value look generated rather than written as a stand-in?

    At least 8 characters, three character classes (or a long random token),
    a spread of characters, and no stand-in word (example, test, 1234, xxxx ...).
    """
    if len(value) < 8 or _STAND_IN.search(value):
        return False
    mixed = char_classes(value) >= 3 or (len(value) >= 20 and char_classes(value) >= 2)
    return mixed and shannon_entropy(value) >= 3.0


def survives_exclusion(m: Match) -> bool:
    """Whether a match stays (less certain) despite an exclusion word on its line.

    Checksum-validated values and GitHub tokens carrying their CRC stay; so do
    secrets whose value looks generated (:func:`strong_secret`): a random
    password next to "# example" in a config file is still often the real one.
    Everything else (e-mail addresses, phone numbers, placeholder-shaped
    secrets) is dropped as a documented example.
    """
    if m.detector in CHECKSUM_VALIDATED or m.attributes.get("checksum") is True:
        return True
    return m.detector.startswith("secret.") and strong_secret(m.value)


def exclusion_confidence(confidence: float) -> float:
    """Lower by :data:`EXCLUSION_PENALTY`, never below the default floor (nor raised to it)."""
    return round(max(min(confidence, EXCLUSION_FLOOR), confidence - EXCLUSION_PENALTY), 2)


def apply_context(matches: Sequence[Match], text: str, rules: dict[str, ContextRules]) -> list[Match]:
    """Return the matches that survive, with confidence raised by hotwords.

    An exclusion word (``example``, ``示例`` ...) on the same line as the value
    drops the match (documented examples are not leaks) unless the value
    :func:`survives_exclusion`: then it is kept with lowered confidence and
    ``context=exclusion``.
    """
    kept: list[Match] = []
    for m in matches:
        if PLACEHOLDER.match(m.value):
            continue
        r = rules.get(m.detector)
        if r is None:
            kept.append(m)
            continue
        excluded = False
        if r.exclusions:
            # the line, at most 120 characters each side: searches bounded the same way
            lo, hi = max(0, m.start - 120), min(len(text), m.end + 120)
            nl = text.rfind("\n", lo, m.start)
            line_end = text.find("\n", m.end, hi)
            line = text[lo if nl < 0 else nl + 1: hi if line_end < 0 else line_end].lower()
            if any(w in line for w in r.exclusions):
                if not survives_exclusion(m):
                    continue
                excluded = True
        if r.hotwords:
            around = _near(text, m.start, m.end, r.window)
            if any(w in around for w in r.hotwords):
                m.confidence = min(1.0, m.confidence + HOTWORD_BOOST)
                m.attributes.setdefault("context", "hotword")
        if excluded:
            m.confidence = exclusion_confidence(m.confidence)
            m.attributes["context"] = "exclusion"
        kept.append(m)
    return kept

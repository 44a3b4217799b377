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

HOTWORD_BOOST = 0.3
#: placeholder shapes that are never real values, whatever the detector
PLACEHOLDER = re.compile(
    r"^(?:x{4,}|X{4,}|\*{3,}|0{6,}|1234567890?|<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|%\([^)]*\)s)$"
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


def apply_context(matches: Sequence[Match], text: str, rules: dict[str, ContextRules]) -> list[Match]:
    """Return the matches that survive, with confidence raised by hotwords.

    An exclusion word (``example``, ``示例`` ...) on the same line as the value
    drops the match: documented examples are not leaks.
    """
    kept: list[Match] = []
    for m in matches:
        if PLACEHOLDER.match(m.value):
            continue
        r = rules.get(m.detector)
        if r is None:
            kept.append(m)
            continue
        if r.exclusions:
            line_start = text.rfind("\n", 0, m.start) + 1
            line_end = text.find("\n", m.end)
            line = text[max(line_start, m.start - 120): (len(text) if line_end < 0 else min(line_end, m.end + 120))].lower()
            if any(w in line for w in r.exclusions):
                continue
        if r.hotwords:
            around = _near(text, m.start, m.end, r.window)
            if any(w in around for w in r.hotwords):
                m.confidence = min(1.0, m.confidence + HOTWORD_BOOST)
                m.attributes.setdefault("context", "hotword")
        kept.append(m)
    return kept

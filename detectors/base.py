"""The detector base classes.

Modelled on detect-secrets/Presidio: a detector is a small class with an id,
a severity, a *prefilter* (a cheap regex the engine runs for all detectors in
one pass) and a *verification* step that runs only on the text around a
prefilter hit. Checksum validators are hooks (:meth:`PatternDetector.validate`);
hotwords and exclusions are data consumed by the separate context pass
(:mod:`detectors.context`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from detectors.extract.segment import Segment
from detectors.findings import Match, Severity


class Detector:
    """Anything that turns a text segment into matches."""

    id: ClassVar[str]
    severity: ClassVar[Severity] = Severity.MEDIUM
    #: words that, near a match, make it more likely to be real (context pass)
    hotwords: ClassVar[tuple[str, ...]] = ()
    #: words that, near a match, mark it as an example or a placeholder
    exclusions: ClassVar[tuple[str, ...]] = ()
    #: how far (in characters) the context pass looks around a match
    context_window: ClassVar[int] = 48

    def scan(self, segment: Segment) -> Iterator[Match]:
        """Scan a whole segment. Full-text detectors (keywords, ML) override this."""
        raise NotImplementedError


class PatternDetector(Detector):
    """A regex detector driven by the engine's one-pass prefilter.

    ``prefilter`` is run over the UTF-8 bytes of the text by Hyperscan (or by
    Python ``re`` as a fallback), so it must be Hyperscan-compatible: no
    lookaround, no back-references; non-ASCII literals are fine (they are
    matched as their UTF-8 bytes) but character classes must be ASCII.
    ``pattern`` verifies candidates on the text (``str``) and may use anything
    Python's ``re`` offers; group ``value`` (or the whole match) is the value.

    The prefilter must match (at least a part of) everything the pattern
    accepts: a value the prefilter misses is only found when another hit's
    window happens to cover it, and the two backends would then disagree.
    """

    prefilter: ClassVar[str]
    prefilter_caseless: ClassVar[bool] = False
    pattern: ClassVar[re.Pattern[str]]
    base_confidence: ClassVar[float] = 0.6
    #: characters of text kept on each side of a prefilter hit for verification
    margin: ClassVar[int] = 96

    def validate(self, value: str, match: re.Match[str], segment: Segment) -> bool:
        """Checksum/structure hook; ``False`` drops the candidate."""
        return True

    def confidence(self, value: str, match: re.Match[str], segment: Segment) -> float:
        return self.base_confidence

    def attributes(self, value: str, match: re.Match[str], segment: Segment) -> dict[str, object]:
        return {}

    def verify(self, segment: Segment, start: int, end: int) -> Iterator[Match]:
        text = segment.text
        # Python's re treats ``endpos`` as the end of the string, so a token cut at
        # the window edge would pass a (?![0-9]) boundary check. Searching one
        # margin further lets boundary checks see the real next character; a match
        # found twice by neighbouring windows is deduplicated by the engine.
        for m in self.pattern.finditer(text, start, min(len(text), end + self.margin)):
            group = "value" if "value" in self.pattern.groupindex else 0
            value = m.group(group)
            if value is None or not self.validate(value, m, segment):
                continue
            yield Match(
                detector=self.id,
                start=m.start(group),
                end=m.end(group),
                value=value,
                confidence=self.confidence(value, m, segment),
                severity=self.severity,
                attributes=self.attributes(value, m, segment),
            )

    def scan(self, segment: Segment) -> Iterator[Match]:
        return self.verify(segment, 0, len(segment.text))

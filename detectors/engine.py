"""The detection engine: one prefilter pass, then verification of candidates only.

Running N Python regexes one after another costs N passes over the text. The
engine instead compiles every detector's prefilter into one Hyperscan
database (a single SIMD pass over the UTF-8 bytes) and runs the detectors'
exact patterns only on small windows around the hits. When Hyperscan is not
installed, the same prefilters run through Python's ``re``: slower, same
findings (``tests/detectors/test_engine.py`` checks both agree).
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Sequence
from typing import Protocol

from detectors.base import Detector, PatternDetector
from detectors.context import ContextRules, apply_context
from detectors.extract.segment import Segment
from detectors.findings import Match

log = logging.getLogger(__name__)

try:  # Hyperscan ships manylinux/macOS wheels; it is optional on purpose.
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised by the "regex" backend tests
    _hs = None


class Prefilter(Protocol):
    name: str

    def candidates(self, data: bytes) -> list[tuple[int, int, int]]:
        """(pattern index, byte start, byte end) of every prefilter hit."""
        ...


class HyperscanPrefilter:
    name = "hyperscan"

    def __init__(self, patterns: Sequence[tuple[str, bool]]) -> None:
        assert _hs is not None
        self._db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
        flags = [
            _hs.HS_FLAG_SOM_LEFTMOST | (_hs.HS_FLAG_CASELESS if caseless else 0)
            for _, caseless in patterns
        ]
        try:
            self._db.compile(
                expressions=[p.encode("utf-8") for p, _ in patterns],
                ids=list(range(len(patterns))),
                elements=len(patterns),
                flags=flags,
            )
        except _hs.error as e:
            raise ValueError(f"prefilter does not compile: {_culprit(patterns, flags) or e}") from e
        # Scratch space is per thread: the agent scans from a worker pool.
        self._local = threading.local()

    def _scratch(self) -> object:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = _hs.Scratch(self._db)
        return scratch

    def candidates(self, data: bytes) -> list[tuple[int, int, int]]:
        hits: list[tuple[int, int, int]] = []
        add = hits.append

        def on_match(pid: int, start: int, end: int, flags: int, ctx: object) -> None:
            add((pid, start, end))

        self._db.scan(data, match_event_handler=on_match, scratch=self._scratch())
        return hits


def _culprit(patterns: Sequence[tuple[str, bool]], flags: list[int]) -> str | None:
    """Name the first pattern Hyperscan rejects, so the error points at a detector."""
    for (pattern, _), flag in zip(patterns, flags):
        try:
            _hs.Database(mode=_hs.HS_MODE_BLOCK).compile(expressions=[pattern.encode("utf-8")], flags=[flag])
        except _hs.error as e:
            return f"{pattern!r}: {e}"
    return None


class EmptyPrefilter:
    """No pattern detectors enabled (e.g. a policy with only keyword lists)."""

    name = "none"

    def candidates(self, data: bytes) -> list[tuple[int, int, int]]:
        return []


class RegexPrefilter:
    """The fallback: the same prefilters, one Python ``re`` pass each."""

    name = "regex"

    def __init__(self, patterns: Sequence[tuple[str, bool]]) -> None:
        self._res = [
            re.compile(p.encode("utf-8"), re.IGNORECASE if caseless else 0) for p, caseless in patterns
        ]

    def candidates(self, data: bytes) -> list[tuple[int, int, int]]:
        hits: list[tuple[int, int, int]] = []
        for i, rx in enumerate(self._res):
            hits.extend((i, m.start(), m.end()) for m in rx.finditer(data))
        return hits


def make_prefilter(patterns: Sequence[tuple[str, bool]], backend: str = "auto") -> Prefilter:
    if backend not in ("auto", "hyperscan", "regex"):
        raise ValueError(f"unknown prefilter backend {backend!r}")
    if not patterns:
        return EmptyPrefilter()
    if backend in ("auto", "hyperscan") and _hs is not None:
        return HyperscanPrefilter(patterns)
    if backend == "hyperscan":
        raise RuntimeError("the hyperscan backend was requested but the hyperscan module is not installed")
    return RegexPrefilter(patterns)


#: UTF-8 continuation bytes (10xxxxxx): every other byte starts a character
_CONTINUATION = bytes(range(0x80, 0xC0))


def _char_offsets(data: bytes, offsets: set[int]) -> dict[int, int]:
    """Map UTF-8 byte offsets to character offsets in one forward walk."""
    out: dict[int, int] = {}
    pos_b = pos_c = 0
    n = len(data)
    for b in sorted(offsets):
        bb = b
        while 0 < bb < n and (data[bb] & 0xC0) == 0x80:  # inside a multi-byte character
            bb -= 1
        if bb > pos_b:
            # characters = bytes that are not continuations; deleting them in C is twice as fast as decoding
            pos_c += len(data[pos_b:bb].translate(None, _CONTINUATION))
            pos_b = bb
        out[b] = pos_c
    return out


class Engine:
    """Runs a set of detectors over segments."""

    def __init__(
        self,
        detectors: Sequence[Detector],
        *,
        context: dict[str, ContextRules] | None = None,
        min_confidence: dict[str, float] | None = None,
        backend: str = "auto",
    ) -> None:
        self.detectors = list(detectors)
        self._pattern = [d for d in self.detectors if isinstance(d, PatternDetector)]
        self._fulltext = [d for d in self.detectors if not isinstance(d, PatternDetector)]
        self._context = context if context is not None else {
            d.id: ContextRules.build(d.hotwords, d.exclusions, d.context_window) for d in self.detectors
        }
        self._min_confidence = min_confidence or {}
        self.prefilter = make_prefilter([(d.prefilter, d.prefilter_caseless) for d in self._pattern], backend)

    def scan(self, segment: Segment, problems: list[str] | None = None) -> list[Match]:
        """Matches of every detector; a full-text detector that fails is left out and
        described in ``problems`` (when given), and the other detectors' matches are kept."""
        text = segment.text
        if not text:
            return []
        matches = self._pattern_matches(segment)
        for det in self._fulltext:
            try:
                matches.extend(list(det.scan(segment)))
            except Exception as e:  # e.g. a damaged ML model: the file keeps its pattern findings
                where = traceback.extract_tb(e.__traceback__)[-1]
                # type and code location only: an exception message may quote the scanned text
                log.error("detector %s failed on %s: %s at %s:%s", det.id, segment.path, type(e).__name__,
                          where.filename, where.lineno)
                if problems is not None:
                    problems.append(f"{segment.path}: detector {det.id} failed ({type(e).__name__}); "
                                    "its verdict is missing, other findings are kept")
        lo, hi = segment.count_from, segment.count_until  # chunks: count what ends in (lo, hi] (segment.py)
        if lo or hi is not None:
            matches = [m for m in matches if (not lo or m.end > lo) and (hi is None or m.end <= hi)]
        matches = apply_context(matches, text, self._context)
        floor = self._min_confidence
        return sorted(
            (m for m in matches if m.confidence >= floor.get(m.detector, 0.0)),
            key=lambda m: (m.start, m.detector),
        )

    def _pattern_matches(self, segment: Segment) -> list[Match]:
        text = segment.text
        data = text.encode("utf-8", "surrogatepass")
        hits = self.prefilter.candidates(data)
        if not hits:
            return []
        if len(data) != len(text):  # not pure ASCII: byte and char offsets differ
            # only starts are mapped (one per distinct start); a hit of k bytes spans at most k
            # characters, so start + k bounds its end and the window can only grow
            cmap = _char_offsets(data, {s for _, s, _ in hits})
            hits = [(i, cmap[s], cmap[s] + e - s) for i, s, e in hits]
        windows: dict[int, list[tuple[int, int]]] = {}
        n = len(text)
        for i, s, e in sorted(hits):
            margin = self._pattern[i].margin
            ws, we = max(0, s - margin), min(n, e + margin)
            spans = windows.setdefault(i, [])
            if spans and ws <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], we))
            else:
                spans.append((ws, we))
        seen: set[tuple[str, int, int]] = set()
        out: list[Match] = []
        for i, spans in windows.items():
            det = self._pattern[i]
            for ws, we in spans:
                for m in det.verify(segment, ws, we):
                    key = (m.detector, m.start, m.end)
                    if key not in seen:
                        seen.add(key)
                        out.append(m)
        return out

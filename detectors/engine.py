"""The detection engine: one prefilter pass, then verification of candidates only.

Running N Python regexes one after another costs N passes over the text. The
engine instead compiles every detector's prefilter into one Hyperscan
database (a single SIMD pass over the UTF-8 bytes) and runs the detectors'
exact patterns only on small windows around the hits. When Hyperscan is not
installed, the same prefilters run through Python's ``re``: slower, same
findings (``tests/detectors/test_engine.py`` checks both agree).
"""

from __future__ import annotations

import collections
import itertools
import logging
import re
import threading
import traceback
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from detectors.base import Detector, PatternDetector
from detectors.context import ContextRules, apply_context
from detectors.extract.segment import Segment
from detectors.findings import Match

log = logging.getLogger(__name__)

try:  # Hyperscan ships manylinux/macOS wheels; it is optional on purpose.
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised by the "regex" backend tests
    _hs = None


#: prefilter hits kept per pattern and segment. Past it the pattern is "flooded" (a planted file of
#: 3.5 M marking candidates, say): its detector verifies the whole segment in one pass instead, so
#: memory and per-hit work stay bounded whatever the input. Normal text stays far below (a value per
#: 3 KB is ~350 hits per MB).
HIT_LIMIT = 4096


class Candidates(NamedTuple):
    hits: list[tuple[int, int, int]]  # (pattern index, byte start, byte end)
    flooded: frozenset[int]  # patterns past HIT_LIMIT: none of their hits are in ``hits``


class Prefilter(Protocol):
    name: str

    def candidates(self, data: bytes) -> Candidates:
        """Every prefilter hit of the patterns that stayed within :data:`HIT_LIMIT`."""
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
        self._patterns, self._flags = list(patterns), flags
        # Scratch space is per thread: the agent scans from a worker pool; databases without
        # flooded patterns are compiled on first need and kept (keyed by what they leave out).
        self._local = threading.local()
        self._reduced: dict[frozenset[int], tuple[object, list[int]]] = {
            frozenset(): (self._db, list(range(len(patterns))))}
        self._lock = threading.Lock()

    def _database(self, flooded: frozenset[int]) -> tuple[object, list[int]]:
        with self._lock:
            if flooded not in self._reduced:
                keep = [i for i in range(len(self._patterns)) if i not in flooded]
                db = None
                if keep:
                    db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
                    db.compile(expressions=[self._patterns[i][0].encode("utf-8") for i in keep],
                               ids=list(range(len(keep))), elements=len(keep),
                               flags=[self._flags[i] for i in keep])
                self._reduced[flooded] = (db, keep)
            return self._reduced[flooded]

    def _scratch(self, key: frozenset[int], db: object) -> object:
        scratches = getattr(self._local, "scratches", None)
        if scratches is None:
            scratches = self._local.scratches = {}
        if key not in scratches:
            scratches[key] = _hs.Scratch(db)
        return scratches[key]

    def candidates(self, data: bytes) -> Candidates:
        flooded: frozenset[int] = frozenset()
        while True:  # each round leaves out at least one more flooded pattern
            db, keep = self._database(flooded)
            if not keep:
                return Candidates([], flooded)
            hits: list[tuple[int, int, int]] = []
            add = hits.append
            counts: collections.Counter[int] | None = None
            over: list[int] = []

            def on_match(pid: int, start: int, end: int, flags: int, ctx: object) -> bool | None:
                nonlocal counts
                add((pid, start, end))
                if len(hits) <= HIT_LIMIT:  # the usual case: no pattern can be past the budget yet
                    return None
                if counts is None:
                    counts = collections.Counter(i for i, _, _ in hits)
                else:
                    counts[pid] += 1
                if counts[pid] > HIT_LIMIT:
                    over.append(pid)
                    return True  # stop: rescan without it
                return None

            try:
                db.scan(data, match_event_handler=on_match, scratch=self._scratch(flooded, db))  # type: ignore[attr-defined]
            except _hs.error:
                if not over:  # terminated by anything but our callback
                    raise
            if not over:
                if flooded:  # ids of a reduced database are positions in ``keep``
                    hits = [(keep[i], s, e) for i, s, e in hits]
                return Candidates(hits, flooded)
            flooded = flooded | {keep[over[0]]}


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

    def candidates(self, data: bytes) -> Candidates:
        return Candidates([], frozenset())


class RegexPrefilter:
    """The fallback: the same prefilters, one Python ``re`` pass each."""

    name = "regex"

    def __init__(self, patterns: Sequence[tuple[str, bool]]) -> None:
        self._res = [
            re.compile(p.encode("utf-8"), re.IGNORECASE if caseless else 0) for p, caseless in patterns
        ]

    def candidates(self, data: bytes) -> Candidates:
        hits: list[tuple[int, int, int]] = []
        flooded = set()
        for i, rx in enumerate(self._res):
            mine = list(itertools.islice(((i, m.start(), m.end()) for m in rx.finditer(data)), HIT_LIMIT + 1))
            if len(mine) > HIT_LIMIT:
                flooded.add(i)
            else:
                hits.extend(mine)
        return Candidates(hits, frozenset(flooded))


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
        hits, flooded = self.prefilter.candidates(data)
        out: list[Match] = []
        for i in sorted(flooded):  # bounded work on hostile input: one verification pass over the segment
            out.extend(self._pattern[i].verify(segment, 0, len(text)))
        if not hits:
            return out
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
        for i, spans in windows.items():
            det = self._pattern[i]
            for ws, we in spans:
                for m in det.verify(segment, ws, we):
                    key = (m.detector, m.start, m.end)
                    if key not in seen:
                        seen.add(key)
                        out.append(m)
        return out

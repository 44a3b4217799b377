"""Cut a stream of text pieces into overlapping Segments of bounded size.

Chunk k covers document characters [s_k, s_k + len_k) with
s_{k+1} = s_k + chunk_chars - overlap_chars. A chunk's text stops at the cut,
so a boundary check there (``(?![0-9])``) would see nothing and take the
front of a longer digit run for a whole value. Every chunk therefore counts
only the matches that end in its middle: a non-final chunk stops counting at
``count_until = chunk_chars - overlap_chars // 2``, and the next one starts
at ``count_from = overlap_chars - overlap_chars // 2``, the same document
offset. The counted regions ``text[count_from:count_until]`` tile the
document exactly; every counted match has at least half the overlap of real
text after its end (and, if no longer than half the overlap, before its
start), and is counted once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from detectors.extract.limits import ExtractLimits
from detectors.extract.segment import Segment


class Chunker:
    def __init__(self, limits: ExtractLimits, *, path: str, part: str = "body", page: int | None = None,
                 sheet: str | None = None, media_type: str = "text/plain", line_base: int = 1) -> None:
        self._size = limits.chunk_chars
        self._overlap = limits.overlap_chars
        self._fields = dict(path=path, part=part, page=page, sheet=sheet, media_type=media_type)
        self._pieces: list[str] = []
        self._len = 0
        self._start = 0  # document offset of the current chunk's first character
        self._count_from = 0
        self._line_base = line_base
        self._first = True
        self._anchors: list[tuple[int, str]] = []  # (document offset, label)

    def add(self, text: str, anchor: str | None = None) -> Iterator[Segment]:
        if anchor is not None:
            self._anchors.append((self._start + self._len, anchor))
        if not text:
            return
        self._pieces.append(text)
        self._len += len(text)
        # Emit only while strictly more than a chunk is buffered: the last chunk
        # is emitted by finish(), the only one that may say at_end.
        while self._len > self._size:
            yield self._emit(final=False)

    def extend(self, pieces: list[tuple[str, str | None]]) -> Iterator[Segment]:
        """Add many (text, anchor) pieces at once (one parser block's worth)."""
        for text, anchor in pieces:
            if anchor is not None:
                self._anchors.append((self._start + self._len, anchor))
            if text:
                self._pieces.append(text)
                self._len += len(text)
        pieces.clear()
        while self._len > self._size:
            yield self._emit(final=False)

    def finish(self) -> Iterator[Segment]:
        if self._len or self._anchors:
            yield self._emit(final=True)

    def _emit(self, *, final: bool) -> Segment:
        buf = "".join(self._pieces)
        text = buf if final else buf[: self._size]
        end = self._start + len(text)
        anchors = self._chunk_anchors(end)
        half = self._overlap // 2
        seg = Segment(text=text, line_base=self._line_base, count_from=self._count_from,
                      count_until=None if final else self._size - half,
                      at_start=self._first, at_end=final, anchors=anchors, **self._fields)  # type: ignore[arg-type]
        self._first = False
        if not final:
            keep_from = self._size - self._overlap
            self._line_base += text.count("\n", 0, keep_from)
            rest = buf[keep_from:]
            self._pieces = [rest]
            self._len = len(rest)
            self._start += keep_from
            self._count_from = self._overlap - half
        else:
            self._pieces, self._len = [], 0
        return seg

    def _chunk_anchors(self, end: int) -> tuple[tuple[int, str], ...]:
        if not self._anchors:
            return ()
        start = self._start
        out: list[tuple[int, str]] = []
        before: tuple[int, str] | None = None
        for off, label in self._anchors:
            if off <= start:
                before = (0, label)
            elif off < end:
                out.append((off - start, label))
        if before is not None and (not out or out[0][0] > 0):
            out.insert(0, before)
        # Anchors wholly before this chunk are no longer needed, but the one
        # covering its start is.
        keep = [a for a in self._anchors if a[0] >= start + self._size - self._overlap]
        last_before = [a for a in self._anchors if a[0] < start + self._size - self._overlap]
        self._anchors = last_before[-1:] + keep
        return tuple(out)


def drain(ch: Chunker, pending: list[tuple[str, str | None]], blocks: Iterator[None],
          extra: Callable[[], Iterator[Segment]] | None = None) -> Iterator[Segment]:
    """After each parsed block hand ``pending`` to the chunker. When parsing
    fails (damaged XML, a limit) what was read before still goes out, then
    the error is raised for the caller to report."""
    try:
        for _ in blocks:
            yield from ch.extend(pending)
            if extra:
                yield from extra()
    except Exception:
        yield from ch.extend(pending)
        if extra:
            yield from extra()
        yield from ch.finish()
        raise
    yield from ch.finish()


def segments_of(text: str, limits: ExtractLimits, **fields: object) -> Iterator[Segment]:
    """A whole in-memory text as one or more chunked segments."""
    ch = Chunker(limits, **fields)  # type: ignore[arg-type]
    yield from ch.add(text)
    yield from ch.finish()

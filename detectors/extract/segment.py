"""A piece of extracted text and what is known about where it came from."""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Segment:
    """Text handed to the detectors.

    Large files arrive as several segments (chunks) that overlap. Each chunk
    counts only the matches that end in ``(count_from, count_until]``
    (``count_until`` None: to the end of the text); the counted regions tile
    the document, and both bounds lie at least half the overlap away from a
    cut, so a match is judged with real context on both sides (a digit run
    cut at a chunk edge is not mistaken for a whole value) and counted exactly
    once. ``count_from`` 0 means no lower bound. ``at_start``
    and ``at_end`` tell whether the text touches the start or end of its
    document or page (markings count in the head and foot).
    """

    text: str
    path: str  # display path, ``outer.zip!inner/file``
    part: str = "body"  # body, header, footer, comment, notes, page, sheet, attachment ...
    page: int | None = None
    sheet: str | None = None
    line_base: int = 1  # line number of text[0]
    count_from: int = 0
    count_until: int | None = None
    at_start: bool = True
    at_end: bool = True
    media_type: str = "text/plain"
    #: (offset, label) pairs, sorted by offset: the text from offset on belongs
    #: to label (e.g. a spreadsheet cell "B7"); empty when not applicable
    anchors: tuple[tuple[int, str], ...] = ()

    @property
    def is_margin(self) -> bool:
        """Header, footer and similar parts: everything in them is head/foot."""
        return self.part in ("header", "footer", "first-page-header", "first-page-footer")

    def anchor_at(self, offset: int) -> str | None:
        if not self.anchors:
            return None
        i = bisect.bisect_right(self.anchors, (offset, "\uffff")) - 1
        return self.anchors[i][1] if i >= 0 else None

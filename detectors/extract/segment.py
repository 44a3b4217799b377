"""A piece of extracted text and what is known about where it came from."""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Segment:
    """Text handed to the detectors.

    Large files arrive as several segments (chunks) that overlap: a match that
    ends at or before ``count_from`` lies wholly in the overlap and was already
    reported by the previous chunk, so the engine drops it here. ``at_start``
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

"""Full-width digits and punctuation (１３９－１２３４－５６７８, ＋８６): Chinese input methods type them.

Prefilters run over UTF-8 bytes with ASCII classes, and the verification
patterns are written for ASCII digits. Rather than doubling every class, a
detector that takes :class:`FoldsFullwidth` verifies a window that holds a
full-width digit on a folded copy of it (U+FF01..FF5E to ASCII, U+3000 to a
space: the same length, so offsets do not move). The reported value is the
folded one, so ``１３９…`` and ``139…`` hash alike.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Match

FOLD = str.maketrans({**{cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}, 0x3000: 0x20})
_WIDE_DIGIT = re.compile("[\uff10-\uff19]")
#: prefilter clause builders: ``n`` full-width digits in a row, as UTF-8 bytes (EF BC 90..99)
PF_WIDE_DIGIT = "\\xef\\xbc[\\x90-\\x99]"


def pf_wide_digits(n: int) -> str:
    return f"(?:{PF_WIDE_DIGIT}){{{n}}}"


#: characters of context folded on each side of the window (look-behinds, labels before a value)
_CONTEXT = 64


class FoldsFullwidth(PatternDetector):
    """Mixin: verify windows that hold full-width digits on a folded copy of the text."""

    def verify(self, segment: Segment, start: int, end: int) -> Iterator[Match]:
        text = segment.text
        hi = min(len(text), end + self.margin)
        if not _WIDE_DIGIT.search(text, start, hi):
            yield from super().verify(segment, start, end)
            return
        lo = max(0, start - _CONTEXT)
        piece = text[lo:min(len(text), hi + _CONTEXT)].translate(FOLD)
        folded = dataclasses.replace(segment, text=piece, count_from=0, anchors=())
        for m in super().verify(folded, start - lo, end - lo):
            m.start += lo
            m.end += lo
            yield m

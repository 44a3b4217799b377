"""Helpers shared by the extraction tests: run an Extraction and sort what it yields."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from detectors.extract import Extraction, Notice, Segment


def counted(s: Segment) -> str:
    """The part of a chunk whose matches count (segment.py): the counted parts tile the text."""
    return s.text[s.count_from:s.count_until]


@dataclass
class Result:
    media_type: str
    disguised: bool
    segments: list[Segment] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def text(self, path: str | None = None, part: str | None = None) -> str:
        """The counted text (chunk overlaps removed) of matching segments."""
        return "\n".join(counted(s) for s in self.segments
                         if (path is None or s.path == path) and (part is None or s.part == part))

    def kinds(self) -> list[str]:
        return [n.kind for n in self.notices]

    def where(self, needle: str) -> list[Segment]:
        return [s for s in self.segments if needle in s.text]


def collect(ex: Extraction) -> Result:
    r = Result(ex.media_type, ex.disguised)
    for item in ex:
        (r.segments if isinstance(item, Segment) else r.notices).append(item)
    return r


@pytest.fixture
def run():
    return collect

"""Media type -> extractor: the explicit list of what LeakWarden can read.

A type missing here is reported as a "skipped" Notice naming the type
(images, media, executables: OCR is a later issue).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from detectors.extract import sniff as t, text
from detectors.extract.blob import Blob
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment
from detectors.extract.walk import Walk

Extractor = Callable[[Blob, Walk], Iterator[Segment | Notice]]

EXTRACTORS: dict[str, Extractor] = {
    t.TEXT: text.extract_text,
}

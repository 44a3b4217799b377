"""Content extraction: bytes -> text Segments (and Notices for what is not text).

Entry points :func:`extract_path` and :func:`extract_bytes`; see
docs/extraction.md for the formats, limits and locations.
"""

from detectors.extract.extraction import Extraction, extract_bytes, extract_path
from detectors.extract.limits import ExtractLimits
from detectors.extract.notice import Notice
from detectors.extract.segment import Segment

__all__ = ["ExtractLimits", "Extraction", "Notice", "Segment", "extract_bytes", "extract_path"]

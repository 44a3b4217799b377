"""``ml.sensitive_document``: a document-level verdict from the trained classifier.

A verdict is about a document, not a span, so the detector emits at most one
:class:`~detectors.findings.Match` per document with ``start = end = 0`` and
an empty ``value`` (nothing raw to mask or hash). What the analyst needs is in
``attributes``: the probability, the threshold it passed, and the terms that
drove the verdict (training-vocabulary terms only; see
:meth:`detectors.ml.model.Model.explain`).

Cost control: only the head of a document is classified (the segment that
starts it, up to ``max_chars`` characters), texts shorter than ``min_chars``
are skipped (too little to judge, and cheap pattern detectors cover them), so
is machine text (logs, code, encoded or binary data, pages of numbers; see
:mod:`detectors.ml.gate`),
and verdicts are cached by a hash of the classified text, so the same file
seen again (copied, renamed, re-sent) costs one hash.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

from detectors.base import Detector
from detectors.extract.segment import Segment
from detectors.findings import Match, Severity
from detectors.ml import model as ml_model
from detectors.ml.gate import skip_reason

#: parts that carry a document's own text (not headers, footers, comments)
_CLASSIFIED_PARTS = frozenset({"body", "page", "sheet", "attachment", "slide", "notes"})


class SensitiveDocumentDetector(Detector):
    id = "ml.sensitive_document"
    severity = Severity.MEDIUM

    def __init__(
        self,
        model_path: str | Path | None = None,
        threshold: float = 0.5,
        *,
        max_chars: int = 65536,
        min_chars: int = 100,
        cache_size: int = 1024,
        explain_top: int = 8,
        precheck: bool = True,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, not {threshold}")
        self.model_path = Path(model_path) if model_path else ml_model.default_model_path()
        self.model = ml_model.load(self.model_path)  # ModelError if missing, untrusted or corrupt
        self.threshold = threshold
        self.max_chars = min(max_chars, self.model.hasher.max_chars)
        self.min_chars = min_chars
        self.explain_top = explain_top
        self.precheck = precheck
        self._cache: OrderedDict[bytes, tuple[float, list[str]]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()  # the agent scans from a worker pool

    def classify(self, text: str) -> tuple[float, list[str]]:
        """(probability, explanation terms) for the head of a text, cached by content."""
        head = text[: self.max_chars]
        key = hashlib.blake2b(head.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        p, buckets, contrib = self.model.score(head)
        terms = self.model.explain(head, buckets, contrib, self.explain_top) if p >= self.threshold else []
        with self._lock:
            self._cache[key] = (p, terms)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return p, terms

    def wanted(self, segment: Segment) -> bool:
        """Classify a document once: its first segment, if there is enough text and it is
        prose rather than machine text (:func:`detectors.ml.gate.skip_reason`)."""
        return (
            segment.at_start
            and segment.count_from == 0
            and segment.page in (None, 0, 1)
            and segment.part in _CLASSIFIED_PARTS
            and len(segment.text) >= self.min_chars
            and not (self.precheck and skip_reason(segment.text, self.min_chars))
        )

    def scan(self, segment: Segment) -> Iterator[Match]:
        if not self.wanted(segment):
            return
        p, terms = self.classify(segment.text)
        if p < self.threshold:
            return
        yield Match(
            detector=self.id,
            start=0,
            end=0,
            value="",
            confidence=p,
            severity=self.severity,
            attributes={
                "probability": round(p, 4),
                "threshold": self.threshold,
                "features": terms,
                "classified_chars": min(len(segment.text), self.max_chars),
            },
        )

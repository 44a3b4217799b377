"""Content scanning for the agent: budget, content-hash cache, redacted findings.

Wraps :class:`detectors.scan.Scanner` (docs/team/contracts.md). The file is
read once, hashed with the organisation key (HMAC-SHA256, so the hash is the
same on every endpoint and reveals nothing without the key), looked up in the
cache, and only then scanned. What comes out is already in wire form: masked
values and keyed hashes, never a raw value.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import stat
import time
from dataclasses import dataclass, field
from typing import Any

from agent.index import Index

log = logging.getLogger("agent.scan")

_SEVERITIES = ("low", "medium", "high", "critical")
CACHE_MIN_SCAN_S = 0.005
# List attributes kept on the wire, by name: only those known to hold no raw value. ``features``
# is the ML detector's explanation: training-vocabulary terms (words and character n-grams that
# occur in many training documents), never text found only in the scanned file (detectors/ml/model.py).
LIST_ATTRIBUTES = {"features"}
LIST_MAX_ITEMS = 16
LIST_ITEM_MAX_CHARS = 64


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    path: str
    size: int
    mtime_ns: int
    content_hash: str | None
    findings: list[dict[str, Any]] = field(default_factory=list)
    media_type: str | None = None
    disguised: bool = False
    error: str | None = None
    skipped: str | None = None  # why no scan happened (budget, vanished, not a file)
    cached: bool = False

    @property
    def detectors(self) -> tuple[str, ...]:
        return tuple(sorted({f["detector"] for f in self.findings}))

    @property
    def severity(self) -> str | None:
        if not self.findings:
            return None
        return max((f["severity"] for f in self.findings), key=_SEVERITIES.index)


def finding_to_wire(f: Any, path: str) -> dict[str, Any]:
    """A detectors Finding as a dict matching leakwarden.wire.WireFinding."""
    d = f.to_dict()
    loc = dict(d.get("location") or {})
    loc["path"] = path + loc["path"][len(d["path"]):] if str(loc.get("path", "")).startswith(d["path"]) else path
    loc["path"] = loc["path"][:4096]
    out: dict[str, Any] = {
        "detector": d["detector"],
        "severity": d["severity"],
        "confidence": float(d["confidence"]),
        "location": loc,
        "masked": str(d["masked"])[:512],
        "hash": d["hash"],
    }
    attrs = d.get("attributes")
    if attrs:
        out["attributes"] = wire_attributes(attrs)
    return out


def wire_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    """Scalars, and the named explanation lists bounded in length (items and characters)."""
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        if isinstance(v, (str, int, float, bool)) or v is None:
            out[str(k)] = v
        elif k in LIST_ATTRIBUTES and isinstance(v, (list, tuple)):
            out[str(k)] = [str(x)[:LIST_ITEM_MAX_CHARS] for x in v[:LIST_MAX_ITEMS] if isinstance(x, (str, int, float))]
    return out


def relocate(findings: list[dict[str, Any]], old: str, new: str) -> list[dict[str, Any]]:
    """Cached findings of the same content found at another path: rewrite the location path."""
    out = []
    for f in findings:
        loc = dict(f["location"])
        p = loc.get("path", old)
        loc["path"] = (new + p[len(old):]) if p.startswith(old) else new
        out.append({**f, "location": loc})
    return out


class ContentScanner:
    def __init__(self, *, policy: str | None, hash_key: bytes, index: Index, max_file_size: int, enabled: bool = True,
                 detector: Any = None) -> None:
        """``detector``: a ready detectors.scan.Scanner (agent/policies.py built and validated it), else one is built."""
        self.hash_key = hash_key
        self.index = index
        self.max_file_size = max_file_size
        self.enabled = enabled
        self.skipped_budget = 0
        self._scanner: Any = detector
        if enabled and detector is None:
            from detectors.policy import load_policy  # imported here: `leakwarden agent --help` stays light
            from detectors.scan import Scanner

            self._scanner = Scanner(policy=load_policy(policy), hash_key=hash_key)
        if enabled:
            # The first scan imports the extractors (office, PDF, archives...): ~1 s that would
            # otherwise land on the first files written and queue everything behind them.
            self._scanner.scan_bytes(b"LeakWarden start-up\n", name="start-up.txt")

    def content_hash(self, data: bytes) -> str:
        return hmac.new(self.hash_key, data, hashlib.sha256).hexdigest()

    def scan_file(self, path: str) -> ScanOutcome:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            return ScanOutcome(path, 0, 0, None, skipped=f"cannot open: {e.strerror}")
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return ScanOutcome(path, st.st_size, st.st_mtime_ns, None, skipped="not a regular file")
            if st.st_size > self.max_file_size:
                self.skipped_budget += 1
                log.warning(
                    "scan skipped for budget: file larger than budget.max_file_size",
                    extra={"ctx": {"path": path, "size": st.st_size, "max_file_size": self.max_file_size}},
                )
                return ScanOutcome(path, st.st_size, st.st_mtime_ns, None, skipped="budget: max_file_size")
            chunks = []
            # Sized to the file (plus one byte to see its end): a fixed 1 MiB buffer costs an
            # mmap/munmap per small file, and a burst is mostly small files.
            want = min(max(st.st_size + 1, 4096), 1 << 20)
            while True:
                b = os.read(fd, want)
                if not b:
                    break
                chunks.append(b)
            data = b"".join(chunks)
        except OSError as e:
            return ScanOutcome(path, 0, 0, None, skipped=f"cannot read: {e.strerror}")
        finally:
            os.close(fd)
        digest = self.content_hash(data)
        if not self.enabled:
            return ScanOutcome(path, len(data), st.st_mtime_ns, digest)
        hit = self.index.cached(digest)
        if hit is not None:
            findings = relocate(hit["findings"], hit["path"], path)
            return ScanOutcome(
                path, len(data), st.st_mtime_ns, digest, findings, hit.get("media_type"), hit.get("disguised", False), cached=True
            )
        # CPU time of this thread, not wall time: waiting for the GIL behind other threads in a
        # burst must not make every small file look slow (and cost a cache insert each).
        started = time.thread_time()
        result = self._scanner.scan_bytes(data, name=path)
        findings = [finding_to_wire(f, path) for f in result.findings]
        if findings or time.thread_time() - started > CACHE_MIN_SCAN_S:
            # Remember what is worth it: findings (renames and copies of them are common) and slow
            # scans (archives, office files); a small plain file is cheaper to rescan than to cache.
            self.index.cache(digest, {"path": path, "findings": findings, "media_type": result.media_type,
                                      "disguised": bool(result.disguised)})
        return ScanOutcome(
            path, len(data), st.st_mtime_ns, digest, findings, result.media_type, bool(result.disguised), result.error
        )

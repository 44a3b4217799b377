"""Extraction limits and the budget that enforces them for one top-level file.

Hostile files (zip bombs, archives nested fifty deep, members that lie about
their size) are stopped by counting what is really read, not by trusting
headers: every expanded byte passes through a :class:`LimitedReader`.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

from leakwarden.errors import LimitExceeded


@dataclass(frozen=True)
class ExtractLimits:
    max_depth: int = 10  # archive/attachment nesting
    max_total_bytes: int = 1 << 30  # total expanded bytes per top-level file
    max_ratio: float = 200.0  # expanded/compressed per member
    max_members: int = 10000
    max_member_bytes: int = 256 << 20
    time_budget: float = 60.0  # seconds of wall clock per top-level file
    chunk_chars: int = 1 << 20  # text chunk size for streaming
    overlap_chars: int = 8192  # overlap between chunks (half of it >= the longest value: PEM keys)
    max_file_bytes: int | None = None  # skip bigger top-level files (agent budget); None = no limit

    def __post_init__(self) -> None:
        if self.chunk_chars <= 0 or self.overlap_chars < 0 or self.overlap_chars >= self.chunk_chars:
            raise ValueError("need chunk_chars > overlap_chars >= 0")
        if self.max_depth < 0 or self.max_members < 0 or self.max_member_bytes < 0 or self.max_total_bytes < 0:
            raise ValueError("extraction limits must not be negative")
        if self.max_ratio <= 1 or self.time_budget <= 0:
            raise ValueError("max_ratio must be > 1 and time_budget > 0")


#: below this many expanded bytes the ratio is not checked: tiny files of
#: repeated characters compress absurdly well and are harmless
RATIO_FLOOR = 1 << 20


class Budget:
    """Mutable counters shared by everything extracted from one top-level file."""

    def __init__(self, limits: ExtractLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.time_budget
        self.expanded = 0
        self.members = 0
        #: set once a limit of the whole file is passed: containers stop taking
        #: members, so the limit is reported once, not once per member
        self.exhausted: str | None = None

    def _stop(self, reason: str) -> LimitExceeded:
        self.exhaust(reason)
        return LimitExceeded(reason)

    def exhaust(self, reason: str) -> None:
        self.exhausted = self.exhausted or reason

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise self._stop(f"time budget of {self.limits.time_budget:g} s exceeded")

    def add_member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise self._stop(f"more than {self.limits.max_members} archive members")

    def charge(self, n: int) -> None:
        self.expanded += n
        if self.expanded > self.limits.max_total_bytes:
            raise self._stop(f"more than {self.limits.max_total_bytes} expanded bytes in total")


class LimitedReader(io.RawIOBase):
    """A read-only stream that charges every byte to the budget and stops at the limits."""

    def __init__(self, raw: io.IOBase, budget: Budget, *, compressed_size: int | None = None,
                 max_bytes: int | None = None) -> None:
        super().__init__()
        self._raw = raw
        # read1: one underlying read per call, so a stream that breaks later
        # (truncated gzip) first hands over everything it could decode
        self._read = getattr(raw, "read1", raw.read)
        self._budget = budget
        self._compressed = compressed_size
        self._max = budget.limits.max_member_bytes if max_bytes is None else max_bytes
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        self._budget.check_time()
        # Never read more than one byte past the limit: enough to know it was passed.
        want = min(len(b), self._max - self.count + 1)
        data = self._read(want)
        n = len(data)
        b[:n] = data
        self.count += n
        if self.count > self._max:
            raise LimitExceeded(f"member expands to more than {self._max} bytes")
        self._budget.charge(n)
        c = self._compressed
        if c is not None and self.count > RATIO_FLOOR and self.count > c * self._budget.limits.max_ratio:
            raise LimitExceeded(
                f"compression ratio above {self._budget.limits.max_ratio:g} ({self.count} bytes from {c})"
            )
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()

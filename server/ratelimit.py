"""Token buckets keyed by agent or by (username, address): in memory, per process.

Memory is bounded by ``max_keys``. A new key at the limit evicts one bucket, never
all of them. Buckets live in two insertion-ordered dicts: ``_open`` (a token
left) and ``_held`` (blocking, e.g. a name being guessed), each oldest first. The
victim is the oldest held bucket if it has refilled since (it blocks nothing any
more), else the oldest open one, and a held one only when every bucket is held.
A flood of made-up names therefore cannot lift the block on the name being
guessed; each eviction is O(1).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from server.config import RateLimit


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, limit: RateLimit, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._open: dict[str, _Bucket] = {}
        self._held: dict[str, _Bucket] = {}

    def __len__(self) -> int:
        return len(self._open) + len(self._held)

    def __contains__(self, key: str) -> bool:
        return key in self._open or key in self._held

    def _tokens(self, b: _Bucket, now: float) -> float:
        return min(self.limit.burst, b.tokens + (now - b.at) * self.limit.rate)

    def blocked(self, key: str, now: float | None = None) -> float:
        """Like :meth:`take` without taking: 0 if a token is available, else seconds to wait."""
        now = time.monotonic() if now is None else now
        b = self._open.get(key) or self._held.get(key)
        if b is None:
            return 0.0
        tokens = self._tokens(b, now)
        if tokens >= 1:
            return 0.0
        return 3600.0 if self.limit.rate <= 0 else (1 - tokens) / self.limit.rate

    def take(self, key: str, now: float | None = None) -> float:
        """0 if allowed (one token taken), else seconds until the next token."""
        now = time.monotonic() if now is None else now
        # popped and put back: each dict stays in order of last use
        b = self._open.pop(key, None) or self._held.pop(key, None)
        if b is None:
            if len(self) >= self.max_keys:
                self._evict_one(now)
            b = _Bucket(self.limit.burst, now)
        b.tokens = self._tokens(b, now)
        b.at = now
        wait = 0.0
        if b.tokens >= 1:
            b.tokens -= 1
        else:
            wait = 3600.0 if self.limit.rate <= 0 else (1 - b.tokens) / self.limit.rate
        (self._open if b.tokens >= 1 else self._held)[key] = b
        return wait

    def _evict_one(self, now: float) -> None:
        oldest_held = next(iter(self._held), None)
        if oldest_held is not None and (not self._open or self._tokens(self._held[oldest_held], now) >= 1):
            del self._held[oldest_held]
        else:
            del self._open[next(iter(self._open))]

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))

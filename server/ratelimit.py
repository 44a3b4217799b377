"""Token buckets keyed by agent or by (username, address): in memory, per process."""

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
        self._buckets: dict[str, _Bucket] = {}

    def blocked(self, key: str, now: float | None = None) -> float:
        """Like :meth:`take` without taking: 0 if a token is available, else seconds to wait."""
        now = time.monotonic() if now is None else now
        b = self._buckets.get(key)
        if b is None:
            return 0.0
        tokens = min(self.limit.burst, b.tokens + (now - b.at) * self.limit.rate)
        if tokens >= 1:
            return 0.0
        return 3600.0 if self.limit.rate <= 0 else (1 - tokens) / self.limit.rate

    def take(self, key: str, now: float | None = None) -> float:
        """0 if allowed (one token taken), else seconds until the next token."""
        now = time.monotonic() if now is None else now
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self.max_keys:
                self._buckets.clear()  # bounded memory beats exactness under a flood of keys
            b = self._buckets[key] = _Bucket(self.limit.burst, now)
        b.tokens = min(self.limit.burst, b.tokens + (now - b.at) * self.limit.rate)
        b.at = now
        if b.tokens >= 1:
            b.tokens -= 1
            return 0.0
        if self.limit.rate <= 0:
            return 3600.0
        return (1 - b.tokens) / self.limit.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))

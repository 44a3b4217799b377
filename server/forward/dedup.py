"""Folding repeats: the same host, detectors and content within a window.

An endpoint that saves the same leaking file twenty times in a minute raises
twenty alerts; responders should get one message, then one summary with the
count. The first occurrence is delivered at once (never delay a leak); repeats
inside the window are only counted; when the window closes, one delivery
carries the total count. A repeat at a *higher* level is not a repeat: it is
delivered at once. State is per process (a second collector process folds
its own repeats; the outbox's idempotency keys still prevent double sends).
"""

from __future__ import annotations

from dataclasses import dataclass

from server.forward.alert import AlertView, level_rank


@dataclass(slots=True)
class _Window:
    first: float
    rank: int
    latest: AlertView
    count: int = 1


class Dedup:
    def __init__(self, window: float, max_keys: int = 100_000) -> None:
        self.window = window
        self.max_keys = max_keys
        self._open: dict[str, _Window] = {}

    def observe(self, alert: AlertView, now: float) -> bool:
        """True: deliver this alert now. False: a repeat, counted for the summary."""
        if self.window <= 0:
            return True
        key = alert.dedup_key()
        w = self._open.get(key)
        rank = level_rank(alert.level)
        if w is None or now - w.first >= self.window:
            if len(self._open) >= self.max_keys:
                self._open.pop(next(iter(self._open)))  # oldest first: dicts keep insertion order
            self._open[key] = _Window(first=now, rank=rank, latest=alert)
            return True
        if alert.id == w.latest.id or rank > w.rank:
            # The same alert again (its level rose) or a worse repeat: news, not noise.
            w.rank = max(w.rank, rank)
            w.latest = alert
            return True
        w.count += 1
        w.latest = alert
        return False

    def closed(self, now: float) -> list[tuple[AlertView, str]]:
        """Windows that ended with repeats: (alert carrying the total count, summary id)."""
        out: list[tuple[AlertView, str]] = []
        for key, w in list(self._open.items()):
            if now - w.first < self.window:
                continue
            del self._open[key]
            if w.count > 1:
                out.append((w.latest.with_(count=w.count), f"repeat:{key}:{w.first:.3f}"))
        return out

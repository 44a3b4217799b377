"""Folding repeats: the same thing happening again within a window becomes one summary.

An endpoint that saves the same leaking file twenty times in a minute raises
twenty alerts; responders should get one message, then one summary with the
count. What counts as "the same" is :meth:`AlertView.dedup_key` (host, kind,
detectors, content, channel, destination, device; agent health alerts only
when their details are identical).

- The first occurrence is delivered at once (never delay a leak).
- Each repeat inside the window rewrites **one summary row in the outbox**, due
  when the window closes (:meth:`Forwarder.on_alert`): the summary is stored
  before the listener returns, so a shutdown or crash loses nothing. The
  in-memory window only remembers which row to rewrite; after a restart the
  next repeat opens a new window and is delivered at once, and the stored
  summary of the old window is still delivered when it falls due.
- A repeat at a *higher* level, or the same alert whose level rose, is news:
  delivered at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.forward.alert import AlertView, level_rank


@dataclass(slots=True)
class _Window:
    first: float
    rank: int
    head: AlertView  # the occurrence delivered at once: summaries speak of (and update) it
    latest_id: str
    count: int = 1


@dataclass(frozen=True, slots=True)
class Fold:
    """A repeat to fold: ``summary`` carries the count so far; store it under ``reason`` (stable for the
    window), due at ``due``."""

    summary: AlertView
    reason: str
    due: float


class Dedup:
    def __init__(self, window: float, max_keys: int = 100_000) -> None:
        self.window = window
        self.max_keys = max_keys
        self._open: dict[str, _Window] = {}

    def observe(self, alert: AlertView, now: float) -> Fold | None:
        """None: deliver this alert now. A :class:`Fold`: a repeat, to be stored as the window's summary."""
        if self.window <= 0:
            return None
        key = alert.dedup_key()
        w = self._open.get(key)
        rank = level_rank(alert.level)
        if w is None or now - w.first >= self.window:
            self.start(alert, now, key)
            return None
        if alert.id == w.latest_id or alert.id == w.head.id or rank > w.rank:
            # The same alert again (its level rose) or a worse repeat: news, not noise.
            w.rank = max(w.rank, rank)
            w.latest_id = alert.id
            return None
        w.count += 1
        w.latest_id = alert.id
        # The summary is the latest occurrence under the first one's identity (id, link), so receivers
        # that track findings (OCSF finding uid, TheHive sourceRef) update the alert they already have.
        summary = alert.with_(id=w.head.id, url=w.head.url, count=w.count)
        return Fold(summary, f"repeat:{key}:{w.first:.3f}", w.first + self.window)

    def start(self, alert: AlertView, now: float, key: str | None = None) -> None:
        """Open a new window with ``alert`` as its first (delivered) occurrence."""
        key = key or alert.dedup_key()
        self._open.pop(key, None)
        if len(self._open) >= self.max_keys:
            self._open.pop(next(iter(self._open)))  # oldest first: dicts keep insertion order
        self._open[key] = _Window(first=now, rank=level_rank(alert.level), head=alert, latest_id=alert.id)

    def expire(self, now: float) -> int:
        """Forget windows that ended (their summaries are already in the outbox); returns how many."""
        ended = [k for k, w in self._open.items() if now - w.first >= self.window]
        for k in ended:
            del self._open[k]
        return len(ended)

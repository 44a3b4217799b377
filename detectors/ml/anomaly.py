"""Behaviour baselines: volume, hours, destinations and removable-media copies.

The agent reports what a host or a process did (bytes sent to a destination
category, files copied to a removable device); :class:`Baselines` keeps a
per-key daily history in SQLite and says when today departs from it.

Why robust statistics rather than IsolationForest: the question an analyst
asks is "how much more than usual?", and median/MAD answer it in words, stay
correct with a handful of days of history, are unmoved by the one odd day in
the baseline, and need no retraining. A verdict therefore carries the observed
value, the baseline (median of N days), and the robust deviation.

Signals, each checked on every observation after the warm-up:

- ``volume``: today's bytes for (key, category) against the daily median;
- ``unusual_hour``: substantial traffic in an hour of day in which the key was
  never active during the baseline days;
- ``new_destination``: a destination first seen today that already received a
  large amount;
- ``removable_copy``: files or bytes copied to removable media today against
  the daily median;
- ``destination_volume`` (:meth:`Baselines.observe_destination`): bytes sent to
  one destination (registered domain or IP) in an hour against that
  destination's usual active hour, whoever sent them.

After a transfer verdict for a (key, category), the next one that day comes
only when the day's total has doubled (likewise for removable copies), so one
exfiltration does not raise a storm of alerts.

Keys are free-form; the agent uses ``host:<name>`` and
``process:<host>/<executable>``, and the prefix chooses the words ("this
host", "this process").
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import statistics
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from leakwarden.errors import LeakWardenError

REMOVABLE = "removable-media"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, first_day TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS daily (
    key TEXT NOT NULL, category TEXT NOT NULL, day TEXT NOT NULL,
    bytes INTEGER NOT NULL DEFAULT 0, files INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (key, category, day));
CREATE TABLE IF NOT EXISTS hourly (
    key TEXT NOT NULL, category TEXT NOT NULL, day TEXT NOT NULL, hour INTEGER NOT NULL,
    bytes INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (key, category, day, hour));
CREATE TABLE IF NOT EXISTS destinations (
    key TEXT NOT NULL, destination TEXT NOT NULL, first_day TEXT NOT NULL,
    day TEXT NOT NULL, bytes_today INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (key, destination));
CREATE TABLE IF NOT EXISTS dest_seen (
    destination TEXT PRIMARY KEY, first_day TEXT NOT NULL, last_seen REAL NOT NULL);
CREATE INDEX IF NOT EXISTS dest_seen_by_last ON dest_seen (last_seen);
CREATE TABLE IF NOT EXISTS dest_hourly (
    destination TEXT NOT NULL, day TEXT NOT NULL, hour INTEGER NOT NULL,
    bytes INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (destination, day, hour));
CREATE INDEX IF NOT EXISTS dest_hourly_by_day ON dest_hourly (day);
CREATE TABLE IF NOT EXISTS alerted (
    key TEXT NOT NULL, signal TEXT NOT NULL, subject TEXT NOT NULL, day TEXT NOT NULL,
    level REAL NOT NULL, PRIMARY KEY (key, signal, subject, day));
"""
SCHEMA_VERSION = "1"  # the destination tables were added without a new version: older stores gain them on open


class BaselineError(LeakWardenError):
    """The baseline state file cannot be opened or is not a LeakWarden baseline store."""


@dataclass(frozen=True, slots=True)
class AnomalyVerdict:
    key: str
    signal: str  # volume | unusual_hour | new_destination | removable_copy | destination_volume
    category: str
    observed: float  # bytes (or files for removable copies counted by files)
    baseline: float  # median per day over ``history_days``
    deviation: float  # robust z-score: (observed - median) / scale
    history_days: int
    window: str  # "02:00-03:00" on ``day``
    day: str
    explanation: str

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True)
class _DestStats:
    hours: int  # active hours in the window
    days: int  # days with at least one active hour
    median_log: float
    scale_log: float
    low: int  # 10th and 90th percentile of the active hours' bytes
    high: int


def human_bytes(n: float) -> str:
    # Pick the unit after rounding to what is printed: 999,999.99 B is "1.0 MB", not "1000.0 kB".
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(round(n / size, 1)) >= 1:
            return f"{n / size:.1f} {unit}"
    return f"{round(n)} B"


def _subject(key: str) -> str:
    kind = key.split(":", 1)[0] if ":" in key else ""
    return {"host": "this host", "process": "this process", "user": "this user",
            "destination": "this destination"}.get(kind, "this source")


def _when(when: dt.datetime | float) -> dt.datetime:
    return when if isinstance(when, dt.datetime) else dt.datetime.fromtimestamp(when)


class Baselines:
    """Per-key behaviour baselines persisted in one SQLite file.

    ``observe`` and ``observe_copy`` are the whole API; both return an
    :class:`AnomalyVerdict` or ``None``. Thread-safe; state survives restarts.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        warmup_days: int = 7,
        history_days: int = 28,
        threshold: float = 3.5,
        copy_threshold: float = 6.0,
        min_log_scale: float = 0.4,
        min_bytes: int = 50_000_000,
        min_files: int = 20,
        new_destination_bytes: int = 200_000_000,
        max_destinations: int = 5_000,
    ) -> None:
        self.path = Path(path)
        self.warmup_days = warmup_days
        self.history_days = history_days
        self.threshold = threshold
        self.copy_threshold = copy_threshold
        self.min_log_scale = min_log_scale
        self.min_bytes = min_bytes
        self.min_files = min_files
        self.new_destination_bytes = new_destination_bytes
        self.max_destinations = max_destinations
        self._lock = threading.Lock()
        #: (destination, day) -> its hourly baseline before that day; least recently used dropped first
        self._dest_stats: OrderedDict[tuple[str, str], _DestStats] = OrderedDict()
        self._pruned_day = ""
        #: (key, category, day, column) -> (days, median, scale): the history before a day does not change
        self._stats: dict[tuple[str, str, str, str], tuple[int, float, float]] = {}
        self._hours: dict[tuple[str, str], set[int]] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE name='schema'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise BaselineError(f"{self.path}: baseline schema {row[0]} is not supported (expected {SCHEMA_VERSION})")
            self._dest_count: int = self._db.execute("SELECT count(*) FROM dest_seen").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise BaselineError(f"{self.path}: cannot open baseline store: {e}") from e

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "Baselines":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ API

    def observe(
        self, key: str, category: str, nbytes: int, when: dt.datetime | float, destination: str | None = None
    ) -> AnomalyVerdict | None:
        """Record ``nbytes`` sent by ``key`` to a destination ``category`` at ``when``."""
        t = _when(when)
        day, hour = t.date().isoformat(), t.hour
        with self._lock, self._db:
            self._db.execute("BEGIN")
            history = self._history_days(key, day)
            self._add(key, category, day, hour, nbytes, 0)
            new_dest_bytes = self._add_destination(key, destination, day, nbytes) if destination else None
            if history < self.warmup_days:
                return None
            verdict = (
                self._check_volume(key, category, day, hour, history)
                or self._check_hour(key, category, day, hour, history)
                or self._check_destination(key, category, destination, new_dest_bytes, day, hour, history)
            )
            # one story per key, category and day: a new verdict only when today's total doubled since the last
            if verdict is None or not self._first_alert(key, "transfer", category, day, self._today(key, category, day)[0]):
                return None
            return verdict

    def observe_copy(
        self, key: str, files: int, nbytes: int, when: dt.datetime | float, device: str | None = None
    ) -> AnomalyVerdict | None:
        """Record ``files`` files (``nbytes`` bytes) copied by ``key`` to removable media."""
        t = _when(when)
        day, hour = t.date().isoformat(), t.hour
        with self._lock, self._db:
            self._db.execute("BEGIN")
            history = self._history_days(key, day)
            self._add(key, REMOVABLE, day, hour, nbytes, files)
            if history < self.warmup_days:
                return None
            return self._check_copy(key, day, hour, history, device)

    def observe_destination(
        self, destination: str, category: str, nbytes: int, when: dt.datetime | float
    ) -> AnomalyVerdict | None:
        """Record ``nbytes`` sent to ``destination`` (a registered domain or an IP) by anyone on this host.

        The destination's baseline is its *active hours* (hours in which it received
        anything) of the last ``history_days``; the verdict compares this hour with them.
        At most ``max_destinations`` are tracked: the one seen least recently is forgotten
        first (it starts a new warm-up if it comes back), and so is one not seen for
        ``history_days``.
        """
        t = _when(when)
        day, hour = t.date().isoformat(), t.hour
        with self._lock, self._db:
            self._db.execute("BEGIN")
            if day != self._pruned_day:
                self._expire_destinations(t)
            history = self._destination_days(destination, day, t.timestamp())
            self._db.execute(
                "INSERT INTO dest_hourly VALUES (?,?,?,?) ON CONFLICT DO UPDATE SET bytes=bytes+excluded.bytes",
                (destination, day, hour, nbytes))
            if history < self.warmup_days:
                return None
            return self._check_destination_volume(destination, category, day, hour, history)

    def tracked_destinations(self) -> int:
        with self._lock:
            return self._dest_count

    def history(self, key: str, category: str, day: str) -> list[int]:
        """Daily bytes of the baseline days before ``day`` (zeros for quiet days)."""
        with self._lock:
            return self._series(key, category, day, "bytes")

    # ------------------------------------------------------------------ storage

    def _history_days(self, key: str, day: str) -> int:
        row = self._db.execute("SELECT first_day FROM keys WHERE key=?", (key,)).fetchone()
        if row is None:
            self._db.execute("INSERT INTO keys VALUES (?, ?)", (key, day))
            return 0
        first = dt.date.fromisoformat(row[0])
        return max(0, (dt.date.fromisoformat(day) - first).days)

    def _add(self, key: str, category: str, day: str, hour: int, nbytes: int, files: int) -> None:
        self._db.execute(
            "INSERT INTO daily VALUES (?,?,?,?,?) ON CONFLICT DO UPDATE SET bytes=bytes+excluded.bytes, "
            "files=files+excluded.files", (key, category, day, nbytes, files))
        self._db.execute(
            "INSERT INTO hourly VALUES (?,?,?,?,?) ON CONFLICT DO UPDATE SET bytes=bytes+excluded.bytes",
            (key, category, day, hour, nbytes))

    def _add_destination(self, key: str, destination: str, day: str, nbytes: int) -> int | None:
        """Bytes sent today to a destination first seen today, else ``None``."""
        row = self._db.execute(
            "SELECT first_day, day, bytes_today FROM destinations WHERE key=? AND destination=?", (key, destination)
        ).fetchone()
        if row is None:
            self._db.execute("INSERT INTO destinations VALUES (?,?,?,?,?)", (key, destination, day, day, nbytes))
            return nbytes
        first, last, today = row
        today = today + nbytes if last == day else nbytes
        self._db.execute(
            "UPDATE destinations SET day=?, bytes_today=? WHERE key=? AND destination=?", (day, today, key, destination))
        return today if first == day else None

    def _destination_days(self, destination: str, day: str, ts: float) -> int:
        """Days since the destination was first seen (0 when new); makes room for a new one."""
        row = self._db.execute("SELECT first_day FROM dest_seen WHERE destination=?", (destination,)).fetchone()
        if row is not None:
            self._db.execute("UPDATE dest_seen SET last_seen=? WHERE destination=?", (ts, destination))
            return max(0, (dt.date.fromisoformat(day) - dt.date.fromisoformat(row[0])).days)
        if self._dest_count >= self.max_destinations:
            # A few at a time (1%), so a stream of one-off destinations does not cost a delete each.
            n = max(1, self.max_destinations // 100, self._dest_count - self.max_destinations + 1)
            gone = [d for (d,) in self._db.execute("SELECT destination FROM dest_seen ORDER BY last_seen LIMIT ?", (n,))]
            self._forget_destinations(gone)
        self._db.execute("INSERT INTO dest_seen VALUES (?,?,?)", (destination, day, ts))
        self._dest_count += 1
        return 0

    def _forget_destinations(self, gone: list[str]) -> None:
        for i in range(0, len(gone), 500):
            chunk = gone[i:i + 500]
            marks = ",".join("?" * len(chunk))
            self._db.execute(f"DELETE FROM dest_seen WHERE destination IN ({marks})", chunk)
            self._db.execute(f"DELETE FROM dest_hourly WHERE destination IN ({marks})", chunk)
        self._dest_count -= len(gone)
        for k in [k for k in self._dest_stats if k[0] in set(gone)]:
            del self._dest_stats[k]

    def _expire_destinations(self, t: dt.datetime) -> None:
        """Once a day: hours older than the history window, destinations not seen within it."""
        self._pruned_day = t.date().isoformat()
        cutoff = t.date() - dt.timedelta(days=self.history_days)
        self._db.execute("DELETE FROM dest_hourly WHERE day < ?", (cutoff.isoformat(),))
        stale = dt.datetime.combine(cutoff, dt.time()).timestamp()
        gone = [d for (d,) in self._db.execute("SELECT destination FROM dest_seen WHERE last_seen < ?", (stale,))]
        self._forget_destinations(gone)

    def _series(self, key: str, category: str, day: str, column: str) -> list[int]:
        d = dt.date.fromisoformat(day)
        row = self._db.execute("SELECT first_day FROM keys WHERE key=?", (key,)).fetchone()
        first = dt.date.fromisoformat(row[0]) if row else d
        start = max(first, d - dt.timedelta(days=self.history_days))
        values = dict(self._db.execute(
            f"SELECT day, {column} FROM daily WHERE key=? AND category=? AND day>=? AND day<?",
            (key, category, start.isoformat(), day)).fetchall())
        return [values.get((start + dt.timedelta(days=i)).isoformat(), 0) for i in range((d - start).days)]

    def _baseline(self, key: str, category: str, day: str, column: str, floor: float) -> tuple[int, float, float]:
        cache_key = (key, category, day, column)
        hit = self._stats.get(cache_key)
        if hit is None:
            series = self._series(key, category, day, column)
            med = statistics.median(series) if series else 0.0
            mad = statistics.median(abs(v - med) for v in series) if series else 0.0
            # MAD alone is 0 for a perfectly regular key; a floor keeps one odd day from looking infinite
            hit = (len(series), float(med), max(1.4826 * mad, 0.25 * med, floor))
            if len(self._stats) > 50_000:
                self._stats.clear()
            self._stats[cache_key] = hit
        return hit

    def _active_hours(self, key: str, day: str) -> set[int]:
        hit = self._hours.get((key, day))
        if hit is None:
            d = dt.date.fromisoformat(day)
            start = (d - dt.timedelta(days=self.history_days)).isoformat()
            hit = {h for (h,) in self._db.execute(
                "SELECT DISTINCT hour FROM hourly WHERE key=? AND day>=? AND day<? AND bytes>0", (key, start, day))}
            if len(self._hours) > 50_000:
                self._hours.clear()
            self._hours[(key, day)] = hit
        return hit

    def _today(self, key: str, category: str, day: str) -> tuple[int, int]:
        row = self._db.execute(
            "SELECT bytes, files FROM daily WHERE key=? AND category=? AND day=?", (key, category, day)).fetchone()
        return (row[0], row[1]) if row else (0, 0)

    def _hour_bytes(self, key: str, category: str, day: str, hour: int) -> int:
        row = self._db.execute(
            "SELECT bytes FROM hourly WHERE key=? AND category=? AND day=? AND hour=?", (key, category, day, hour)
        ).fetchone()
        return row[0] if row else 0

    def _first_alert(self, key: str, signal: str, subject: str, day: str, level: float) -> bool:
        """True when this is news: no alert yet today, or the level at least doubled since."""
        row = self._db.execute(
            "SELECT level FROM alerted WHERE key=? AND signal=? AND subject=? AND day=?", (key, signal, subject, day)
        ).fetchone()
        if row is not None and level < 2 * row[0]:
            return False
        self._db.execute("INSERT OR REPLACE INTO alerted VALUES (?,?,?,?,?)", (key, signal, subject, day, level))
        return True

    # ------------------------------------------------------------------ signals

    def _check_volume(self, key: str, category: str, day: str, hour: int, history: int) -> AnomalyVerdict | None:
        total, _ = self._today(key, category, day)
        if total < self.min_bytes:
            return None
        n, med_log, scale_log = self._log_baseline(key, category, day)
        med = math.exp(med_log) if n else 0.0
        z = (math.log(total) - med_log) / scale_log if n else math.inf
        if z < self.threshold:
            return None
        in_hour = self._hour_bytes(key, category, day, hour)
        usual = (f"{_subject(key)} usually sends {human_bytes(med)}/day to {category} "
                 f"(median of {n} active days in the last {min(history, self.history_days)}); today is "
                 f"{total / med:.0f}x that") if n else f"{_subject(key)} never sent anything to {category} before"
        text = (f"sent {human_bytes(in_hour)} to {category} between {hour:02d}:00 and {(hour + 1) % 24:02d}:00 "
                f"({human_bytes(total)} so far on {day}); {usual}")
        return AnomalyVerdict(key, "volume", category, total, med, z, n, f"{hour:02d}:00-{(hour + 1) % 24:02d}:00", day, text)

    def _log_baseline(self, key: str, category: str, day: str) -> tuple[int, float, float]:
        """(active days, median, scale) of log daily bytes over the days the key used the category.

        Daily volumes are roughly log-normal and quiet days (weekends, leave)
        say nothing about a working day, so the baseline is taken on the log
        of the active days: a deviation then reads as a factor ("40x usual").
        """
        cache_key = (key, category, day, "log-bytes")
        hit = self._stats.get(cache_key)
        if hit is None:
            logs = [math.log(v) for v in self._series(key, category, day, "bytes") if v > 0]
            if logs:
                med = statistics.median(logs)
                mad = statistics.median(abs(v - med) for v in logs)
                # a spread estimated from a few days is itself uncertain: widen it for small samples
                hit = (len(logs), med, max(1.4826 * mad, self.min_log_scale) * math.sqrt(1 + 3 / len(logs)))
            else:
                hit = (0, 0.0, 1.0)
            self._stats[cache_key] = hit
        return hit

    def _check_hour(self, key: str, category: str, day: str, hour: int, history: int) -> AnomalyVerdict | None:
        in_hour = self._hour_bytes(key, category, day, hour)
        if in_hour < self.min_bytes or hour in self._active_hours(key, day):
            return None
        n, med_log, _ = self._log_baseline(key, category, day)
        med = math.exp(med_log) if n else 0.0
        active = sorted(self._active_hours(key, day))
        usual = f"{active[0]:02d}:00-{active[-1] + 1:02d}:00" if active else "no hour"
        text = (f"sent {human_bytes(in_hour)} to {category} between {hour:02d}:00 and {(hour + 1) % 24:02d}:00; "
                f"{_subject(key)} was never active at this hour in the last {min(history, self.history_days)} days "
                f"(usually active {usual}, median {human_bytes(med)}/day to {category})")
        return AnomalyVerdict(key, "unusual_hour", category, in_hour, med, math.inf, n,
                              f"{hour:02d}:00-{(hour + 1) % 24:02d}:00", day, text)

    def _check_destination(
        self, key: str, category: str, destination: str | None, sent: int | None, day: str, hour: int, history: int
    ) -> AnomalyVerdict | None:
        if destination is None or sent is None or sent < self.new_destination_bytes:
            return None
        n, med_log, scale_log = self._log_baseline(key, category, day)
        med = math.exp(med_log) if n else 0.0
        text = (f"sent {human_bytes(sent)} to {destination} ({category}), a destination {_subject(key)} had not used "
                f"in {history} days of history; it usually sends {human_bytes(med)}/day to {category} "
                f"(median of {n} active days)")
        z = (math.log(sent) - med_log) / scale_log if n else math.inf
        return AnomalyVerdict(key, "new_destination", category, sent, med, z, n,
                              f"{hour:02d}:00-{(hour + 1) % 24:02d}:00", day, text)

    def _destination_baseline(self, destination: str, day: str) -> _DestStats:
        hit = self._dest_stats.get((destination, day))
        if hit is not None:
            self._dest_stats.move_to_end((destination, day))
            return hit
        start = (dt.date.fromisoformat(day) - dt.timedelta(days=self.history_days)).isoformat()
        rows = self._db.execute(
            "SELECT day, bytes FROM dest_hourly WHERE destination=? AND day>=? AND day<? AND bytes>0",
            (destination, start, day)).fetchall()
        hours = sorted(b for _, b in rows)
        if hours:
            logs = [math.log(b) for b in hours]
            med = statistics.median(logs)
            mad = statistics.median(abs(v - med) for v in logs)
            scale = max(1.4826 * mad, self.min_log_scale) * math.sqrt(1 + 3 / len(logs))
            # "its usual hour": the middle 80 % of its active hours (all of them when there are few)
            low, high = hours[len(hours) // 10], hours[-1 - len(hours) // 10]
            hit = _DestStats(len(hours), len({d for d, _ in rows}), med, scale, low, high)
        else:
            hit = _DestStats(0, 0, 0.0, 1.0, 0, 0)
        self._dest_stats[(destination, day)] = hit
        if len(self._dest_stats) > 4096:
            self._dest_stats.popitem(last=False)
        return hit

    def _check_destination_volume(
        self, destination: str, category: str, day: str, hour: int, history: int
    ) -> AnomalyVerdict | None:
        row = self._db.execute(
            "SELECT bytes FROM dest_hourly WHERE destination=? AND day=? AND hour=?", (destination, day, hour)).fetchone()
        in_hour = row[0] if row else 0
        if in_hour < self.min_bytes:
            return None
        b = self._destination_baseline(destination, day)
        if not b.hours:
            return None  # seen long ago, silent since: nothing to compare with (new_destination covers big newcomers)
        z = (math.log(in_hour) - b.median_log) / b.scale_log
        if z < self.threshold:
            return None
        key = f"destination:{destination}"
        if not self._first_alert(key, "destination_volume", destination, day, in_hour):
            return None
        med = math.exp(b.median_log)
        usual = human_bytes(b.low) if b.low == b.high else f"{human_bytes(b.low)}-{human_bytes(b.high)}"
        window = f"{hour:02d}:00-{(hour + 1) % 24:02d}:00"
        text = (f"sent {human_bytes(in_hour)} to {destination} ({category}) between {hour:02d}:00 and "
                f"{(hour + 1) % 24:02d}:00 on {day}; its usual hour is {usual} (median {human_bytes(med)}, "
                f"{b.hours} active hours on {b.days} of the last {min(history, self.history_days)} days); "
                f"this hour is {in_hour / med:.0f}x the median")
        return AnomalyVerdict(key, "destination_volume", category, in_hour, med, z, b.days, window, day, text)

    def _check_copy(self, key: str, day: str, hour: int, history: int, device: str | None) -> AnomalyVerdict | None:
        total_bytes, total_files = self._today(key, REMOVABLE, day)
        nf, med_f, scale_f = self._baseline(key, REMOVABLE, day, "files", self.min_files / 4)
        _, med_b, scale_b = self._baseline(key, REMOVABLE, day, "bytes", self.min_bytes / 4)
        z_f = (total_files - med_f) / scale_f
        z_b = (total_bytes - med_b) / scale_b
        by_files = z_f >= self.copy_threshold and total_files >= self.min_files
        by_bytes = z_b >= self.copy_threshold and total_bytes >= self.min_bytes
        if not (by_files or by_bytes):
            return None
        level = total_files if by_files else total_bytes
        if not self._first_alert(key, "removable_copy", "files" if by_files else "bytes", day, level):
            return None
        where = f" to {device}" if device else " to removable media"
        text = (f"copied {total_files} files ({human_bytes(total_bytes)}){where} on {day}, the last at "
                f"{hour:02d}:00; {_subject(key)} usually copies {med_f:g} files ({human_bytes(med_b)}) a day "
                f"(median of {nf} days)")
        return AnomalyVerdict(key, "removable_copy", REMOVABLE, float(level), med_f if by_files else med_b,
                              z_f if by_files else z_b, nf, f"{hour:02d}:00-{(hour + 1) % 24:02d}:00", day, text)

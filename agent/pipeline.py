"""The one dispatcher: monitor event -> (debounce) -> scan -> local policy -> spool.

Everything the agent decides is decided here, on one thread, so there are no
races between monitors: file scans run on a small worker pool (``budget.
workers`` threads at ``budget.nice``) and come back to this thread as
results. Only events worth telling the collector are spooled: files *with
findings* (created, written, moved, deleted), removable media, suspicious
traffic, and the agent's own state.
"""

from __future__ import annotations

import heapq
import ipaddress
import logging
import math
import os
import queue
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from agent.config import AgentConfig
from agent.destinations import Destinations
from agent.devicepolicy import DevicePolicy
from agent.events import (
    DeviceChange,
    FileAccess,
    FileActivity,
    MonitorState,
    NameSeen,
    NetConnection,
    RootOverflow,
    Tick,
    UsbChange,
)
from agent.index import FileRecord, Index
from agent.monitors.devices import device_key
from agent.monitors.files import PathFilter
from agent.scanning import ContentScanner, ScanOutcome
from agent.spool import Spool, SpoolUnavailable
from detectors.ml.anomaly import AnomalyVerdict, Baselines
from detectors.redact import Redactor
from leakwarden import wire
from leakwarden.errors import LeakWardenError

log = logging.getLogger("agent.pipeline")

_SEV_RISK = {None: 0, "low": 3, "medium": 4, "high": 5, "critical": 6}
HOLDOVER_MAX = 20_000  # events kept in memory while the spool cannot be written
FLUSH_INTERVAL = 0.05  # while busy, spool and index commits are grouped: one fsync per interval, not per step


@dataclass
class _Pending:
    root: str
    first: float
    deadline: float
    action: str  # write | create | move | catchup
    old_path: str | None = None
    old_record: FileRecord | None = None
    queued_at: float = 0.0
    catch_up: bool = False  # found by a walk, not by inotify


@dataclass(frozen=True, slots=True)
class _ScanDone:
    """A worker's result, handed back to the dispatcher through the inbox."""

    path: str
    pending: _Pending
    outcome: ScanOutcome


@dataclass(frozen=True, slots=True)
class _Committed:
    """The spool thread finished a commit: wakes the dispatcher to run what waited for it."""


@dataclass(frozen=True, slots=True)
class _WalkDone:
    root: str
    dirs: int  # folders under the root: each needs one inotify watch


@dataclass
class Status:
    """What heartbeats report; written by the dispatcher, read by anyone."""

    monitors: dict[str, str] = field(default_factory=dict)
    degraded: dict[str, str] = field(default_factory=dict)  # key -> reason
    scanned: int = 0
    cache_hits: int = 0
    events: int = 0


class Pipeline:
    def __init__(
        self,
        cfg: AgentConfig,
        *,
        inbox: "queue.Queue[object]",
        spool: Spool,
        index: Index,
        scanner: ContentScanner,
        destinations: Destinations,
        device_policy: DevicePolicy,
        files: Any = None,  # FilesMonitor (add_root/remove_root/unwatched)
        fanotify: Any = None,
        notify: Callable[[], None] = lambda: None,
        version: str = "",
        binary_hash: str = "",
        is_root: bool = False,
        baselines: Baselines | None = None,
        monitor_drops: Callable[[], dict[str, int]] = dict,
    ) -> None:
        self.cfg = cfg
        self.inbox = inbox
        self.spool = spool
        self.index = index
        self.scanner = scanner
        self.destinations = destinations
        self.device_policy = device_policy
        self.files = files
        self.fanotify = fanotify
        self.notify = notify
        self.version = version
        self.binary_hash = binary_hash
        self.is_root = is_root
        self.baselines = baselines
        self.monitor_drops = monitor_drops
        self.filter = PathFilter(cfg.files.include, cfg.files.exclude)
        self.status = Status()
        self.pending: dict[str, _Pending] = {}
        self._heap: list[tuple[float, str]] = []
        self.inflight: set[str] = set()
        # Scan results of the current drain: their previous index records are looked up in one query.
        self._done: dict[str, _ScanDone] = {}
        self._inflight_limit = cfg.budget.workers * 64  # keeps the pool busy with bounded memory (a path each)
        self._pool = ThreadPoolExecutor(cfg.budget.workers, thread_name_prefix="scan", initializer=self._lower_priority)
        self._out: list[tuple[wire.Event, int]] = []
        # Index writes wait until the events they explain are committed to the spool:
        # after a crash the catch-up scan must find "changed" rather than "already told".
        self._after_spool: list[Callable[[], None]] = []
        self._index_out: list[tuple[str, FileRecord]] = []
        self._holdover: list[tuple[wire.Event, int]] = []
        # One spool commit at a time runs on its own thread: with synchronous=FULL each commit
        # waits for an fsync (tens of ms on a busy disk), which on the dispatcher stalled scheduling.
        # Events built meanwhile go with the next commit; index writes wait for their commit.
        self._spool_thread = ThreadPoolExecutor(1, thread_name_prefix="spool")
        self._commit: Future[object] | None = None
        self._committing: tuple[list[tuple[wire.Event, int]], list[tuple[str, FileRecord]], list[Callable[[], None]]] = ([], [], [])
        self._last_spool_retry = 0.0
        self._last_flush = 0.0
        self.removable: dict[str, wire.Device] = {}  # mountpoint -> device
        self.usb: dict[str, tuple[str, wire.Device, bool, int]] = {}  # bus port -> (key, device, first, sightings)
        self._writers: OrderedDict[str, FileAccess] = OrderedDict()
        self._sensitive_reads: dict[int, tuple[float, str, tuple[str, ...], FileAccess]] = {}
        self._names: OrderedDict[str, str] = OrderedDict()
        self._cooldown: dict[tuple, float] = {}
        self._internal_nets = [ipaddress.ip_network(n, strict=False) for n in cfg.network.internal_networks]
        self._walks: dict[str, threading.Thread] = {}
        self._root_dirs: dict[str, int] = {}
        self._last_watch_check = 0.0
        self._last_rescan: dict[str, float] = {}
        self._last_root_check = 0.0
        self._last_heartbeat = 0.0
        self._reported_drops = spool.drops()
        self._stop = threading.Event()
        self.idle = threading.Event()
        # file, device and host names can hold an ID number or key: masked before anything is spooled
        self._redactor = Redactor()

    # -- plumbing ----------------------------------------------------------
    def _lower_priority(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.cfg.budget.nice)
        except OSError:
            pass  # not permitted to change: scanning still works, at normal priority

    def event(self, kind: str, channel: str = "local", risk: int = 1, **fields: Any) -> wire.Event:
        ev = wire.Event(id=str(uuid.uuid4()), seq=0, time=time.time(), kind=kind, channel=channel, host=self.cfg.host, **fields)  # type: ignore[arg-type]
        self._out.append((ev, risk))
        return ev

    def flush(self, wait: bool = False) -> None:
        """Hand what was built to the spool thread; ``wait``: until it is committed (drain, tests).

        Without ``wait`` a commit still running is left alone: what was built meanwhile goes
        with the next one (group commit).
        """
        if self._commit is not None:
            if not wait and not self._commit.done():
                return
            self._collect()
        if not self._out and not self._holdover:
            self._run_after_spool()  # index writes whose events are all committed
            return
        self._out = self._masked_names(self._out)
        batch = self._holdover + self._out
        if self._holdover and time.monotonic() - self._last_spool_retry < 1.0:
            self._holdover = batch[-HOLDOVER_MAX:]
            self._out = []
            return
        self._last_spool_retry = time.monotonic()
        self._holdover, self._out = [], []
        self._committing = (batch, self._index_out, self._after_spool)
        self._index_out, self._after_spool = [], []
        self._commit = self._spool_thread.submit(self._put, batch)
        if wait:
            self._collect()

    def _put(self, batch: list[tuple[wire.Event, int]]) -> None:
        try:
            self.spool.put(batch)
        finally:
            try:
                self.inbox.put_nowait(_Committed())
            except queue.Full:
                pass  # the dispatcher is busy anyway and looks again within FLUSH_INTERVAL

    def _collect(self) -> None:
        """The outcome of the last commit: run what waited for it, or keep its events for a retry."""
        assert self._commit is not None
        commit, self._commit = self._commit, None
        batch, records, ops = self._committing
        self._committing = ([], [], [])
        try:
            commit.result()
        except Exception as e:  # noqa: BLE001  (SpoolUnavailable, or a bug: nothing is lost either way)
            if not isinstance(e, SpoolUnavailable):
                log.error("spool write failed", exc_info=e)
            if len(batch) + len(self._holdover) > HOLDOVER_MAX:
                log.error("holdover full, oldest events lost",
                          extra={"ctx": {"lost": len(batch) + len(self._holdover) - HOLDOVER_MAX}})
            self._holdover = (batch + self._holdover)[-HOLDOVER_MAX:]
            self._index_out, self._after_spool = records + self._index_out, ops + self._after_spool
            self._set_degraded("spool", f"spool unavailable: {e}")
            return
        self._run_after_spool(records, ops)
        self.status.events += len(batch)
        if "unavailable" in self.status.degraded.get("spool", ""):
            self._set_degraded("spool", None)  # the recovery event goes out with the next flush
        self.notify()

    def _masked_names(self, out: list[tuple[wire.Event, int]]) -> list[tuple[wire.Event, int]]:
        if not out:
            return out
        clean = self._redactor.mask_structs([e for e, _ in out], keep=wire.IDENTIFIERS)
        return [(c, risk) for c, (_, risk) in zip(clean, out)]

    def _run_after_spool(self, records: list[tuple[str, FileRecord]] | None = None,
                         ops: list[Callable[[], None]] | None = None) -> None:
        if records is None and ops is None:  # nothing in flight: what is queued waits for no event
            records, self._index_out = self._index_out, []
            ops, self._after_spool = self._after_spool, []
        if records:
            # One transaction for the whole commit. Memory already knows (Index.remember, at scan time).
            self.index.put_records(records, remember=False)
        for op in ops or ():
            op()

    def _set_degraded(self, key: str, reason: str | None) -> None:
        current = self.status.degraded.get(key)
        if current == reason:
            return
        if reason is None:
            self.status.degraded.pop(key, None)
            log.info("recovered", extra={"ctx": {"what": key, "was": current}})
            self.event("agent.degraded", "agent", 5, attributes={"key": key, "state": "recovered", "reason": current})
        else:
            self.status.degraded[key] = reason
            log.warning("degraded", extra={"ctx": {"what": key, "reason": reason}})
            self.event("agent.degraded", "agent", 5, attributes={"key": key, "state": "degraded", "reason": reason})

    # -- main loop ---------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        try:
            self.inbox.put_nowait(Tick(time.time()))  # wake the dispatcher now rather than at its next timeout
        except queue.Full:
            pass

    def run(self) -> None:
        while not self._stop.is_set():
            self.step(self._wait_time())
        self.drain()

    def _wait_time(self) -> float:
        # Scan results arrive on the inbox too, so waiting never delays them.
        if self._heap and len(self.inflight) >= self._inflight_limit:
            return 1.0  # nothing can start before a result comes back, and results wake us
        if self._heap:
            return max(0.0, min(1.0, self._heap[0][0] - time.monotonic()))
        return 1.0

    def step(self, wait: float) -> None:
        try:
            item = self.inbox.get(timeout=wait) if wait > 0 else self.inbox.get_nowait()
            self.dispatch(item)
            # Drain what else is waiting, in bounded bites, so bursts are handled in batches.
            for i in range(5000):
                self.dispatch(self.inbox.get_nowait())
                if i % 64 == 63 and self._heap and self._heap[0][0] <= time.monotonic():
                    # Files whose settle time is over start now, not after the whole bite: during a
                    # burst a bite of monitor records takes 100+ ms and only frees slots once.
                    self._finish_scans()
                    self._schedule_due()
        except queue.Empty:
            pass
        self._finish_scans()
        self._schedule_due()
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_INTERVAL or self.inbox.empty():  # idle: at once
            self._last_flush = now
            try:
                self.flush()
            except Exception:  # never let the dispatcher thread die; what is unflushed stays queued
                log.exception("flush failed")
        if not self.inflight and not self._heap and self.inbox.empty() and self._commit is None and not self._out:
            self.idle.set()
        else:
            self.idle.clear()

    def drain(self) -> None:
        """Finish what is queued: pending scans run now, results are spooled."""
        while True:
            try:
                self.dispatch(self.inbox.get_nowait())
            except queue.Empty:
                break
        self._finish_scans()
        for pend in self.pending.values():
            pend.deadline = 0.0
        self._heap = [(0.0, p) for p in self.pending]
        deadline = time.monotonic() + 30
        while (self._heap or self.inflight) and time.monotonic() < deadline:
            self.step(0.05)
        self.event("agent.stopped", "agent", 4, attributes={"pending_lost": len(self.pending) + len(self.inflight)})
        self.flush(wait=True)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._spool_thread.shutdown(wait=True)

    def dispatch(self, item: object) -> None:
        try:
            self._dispatch(item)
        except Exception:  # one bad record must not stop the agent; the traceback is logged
            log.exception("dispatch failed", extra={"ctx": {"type": type(item).__name__}})

    def _dispatch(self, item: object) -> None:
        if isinstance(item, _Committed):
            return  # the step's flush collects it
        if isinstance(item, _ScanDone):
            self._done[item.path] = item
            return
        if self._done and not isinstance(item, (FileAccess, NetConnection, NameSeen)) and not (
            isinstance(item, FileActivity) and item.action in ("write", "create", "catchup") and item.path not in self._done
        ):
            self._finish_scans()  # what follows may concern a scanned path: keep the order of events
        if isinstance(item, _WalkDone):
            self._root_dirs[item.root] = item.dirs
            self._check_watches()
        elif isinstance(item, FileActivity):
            self._on_file(item)
        elif isinstance(item, FileAccess):
            self._on_access(item)
        elif isinstance(item, RootOverflow):
            self._on_overflow(item)
        elif isinstance(item, (DeviceChange, UsbChange)):
            self._on_device(item)
        elif isinstance(item, NetConnection):
            self._on_net(item)
        elif isinstance(item, NameSeen):
            self._names[item.ip] = item.name
            self._names.move_to_end(item.ip)
            if len(self._names) > 50_000:
                self._names.popitem(last=False)
        elif isinstance(item, MonitorState):
            self._on_monitor_state(item)
        elif isinstance(item, Tick):
            self._on_tick(item.time)
        else:
            log.error("unknown queue item dropped", extra={"ctx": {"type": type(item).__name__}})

    # -- files ---------------------------------------------------------------
    def channel_of(self, root: str) -> str:
        return "removable" if root in self.removable else "local"

    def _pend(self, path: str, root: str, action: str, delay: float, **extra: Any) -> None:
        now = time.monotonic()
        p = self.pending.get(path)
        if p is None:
            p = _Pending(root, now, now + delay, action, queued_at=time.time(), **extra)
            self.pending[path] = p
        else:
            if action in ("move", "create") and p.action in ("write", "catchup"):
                p.action = action
            for k, v in extra.items():
                setattr(p, k, v)
            # A file rewritten without pause is scanned at the latest max_delay after its first write.
            p.deadline = min(now + delay, p.first + self.cfg.files.max_delay)
        heapq.heappush(self._heap, (p.deadline, path))

    def _on_file(self, a: FileActivity) -> None:
        settle = self.cfg.files.settle
        if a.action in ("delete", "moved_out"):
            if a.path == a.root:
                if a.root in self.cfg.files.roots:
                    self.check_roots()  # a configured root deleted: its watches are gone, report it now
                return  # the root itself went away (an unmount): not a deletion of its files
            self.pending.pop(a.path, None)
            for rec in self.index.take_sensitive(a.path):
                self._deleted(rec, a.root, moved_out=a.action == "moved_out")
            self._after_spool.append(lambda p=a.path: self.index.delete_rows(p))
            return
        if a.action == "move":
            self._on_move(a)
            return
        if a.action == "catchup":
            self._pend(a.path, a.root, "catchup", 0.0, catch_up=True)
        elif a.action == "create":
            self._pend(a.path, a.root, "create", 0.0 if a.catch_up else settle, catch_up=a.catch_up)
        elif a.closed:
            self._pend(a.path, a.root, "write", settle)
        else:  # still being written: wait for the close, or max_delay for writers that never close
            self._pend(a.path, a.root, "write", self.cfg.files.max_delay)

    def _on_move(self, a: FileActivity) -> None:
        src, dest = a.old_path or "", a.path
        inside = self.files.root_of(dest) if self.files is not None else a.root
        if inside is None and a.catch_up:
            inside = a.root  # a rename found by a walk of a root being watched again
        old = {r.path: r for r in self.index.take_sensitive(src)} if src else {}
        if src:
            self._after_spool.append(lambda: self.index.delete_rows(src))
        self.pending.pop(src, None)
        if inside is None:
            for rec in old.values():
                self._deleted(rec, a.root, moved_out=True)
            return
        if os.path.isdir(dest):
            for rec in old.values():
                new = dest + rec.path[len(src):]
                self._pend(new, inside, "move", 0.0, old_path=rec.path, old_record=rec)
            self._walk(inside, subdir=dest)
            return
        if not self.filter.wanted(dest):
            for rec in old.values():
                self._deleted(rec, a.root, moved_out=True)
            return
        self._pend(dest, inside, "move", 0.0 if a.catch_up else self.cfg.files.settle, old_path=src,
                   old_record=old.get(src), catch_up=a.catch_up)

    def _deleted(self, rec: FileRecord, root: str, moved_out: bool = False) -> None:
        self.event(
            "file.delete",
            self.channel_of(root),
            _SEV_RISK[rec.severity] + 1,
            file=wire.FileInfo(path=rec.path[:4096], size=rec.size, content_hash=rec.hash),
            device=self.removable.get(root),
            attributes={"previous_detectors": list(rec.detectors), "previous_severity": rec.severity, "moved_out_of_watch": moved_out},
        )

    def _schedule_due(self) -> None:
        now = time.monotonic()
        while self._heap and len(self.inflight) < self._inflight_limit:
            deadline, path = self._heap[0]
            if deadline > now:
                break
            heapq.heappop(self._heap)
            p = self.pending.get(path)
            if p is None or p.deadline != deadline or path in self.inflight:
                if p is not None and path in self.inflight and p.deadline == deadline:
                    heapq.heappush(self._heap, (now + 0.05, path))  # rescan once the running scan is done
                    p.deadline = now + 0.05
                continue
            del self.pending[path]
            self.inflight.add(path)
            self._pool.submit(self._scan_job, path, p)
        behind = len(self.pending) + len(self.inflight) > self.cfg.budget.behind_threshold
        # A stable reason (the count is in heartbeats): one event when it starts, one when it ends.
        self._set_degraded("scanner", f"scanner behind: more than {self.cfg.budget.behind_threshold} files waiting" if behind else None)

    def _scan_job(self, path: str, pend: _Pending) -> None:
        try:
            outcome = self.scanner.scan_file(path)
        except Exception as e:  # a scanner bug must not lose the result slot
            log.exception("scan failed")
            outcome = ScanOutcome(path, 0, 0, None, error=f"internal error: {type(e).__name__}")
        # Blocking put: the dispatcher only ever takes from the inbox, so this cannot deadlock.
        self.inbox.put(_ScanDone(path, pend, outcome))

    def _finish_scans(self) -> None:
        done, self._done = self._done, {}
        if not done:
            return
        previous = self.index.get_many([p for p, d in done.items() if not d.outcome.skipped])
        for path, d in done.items():
            self.inflight.discard(path)
            try:
                self._on_scanned(path, d.pending, d.outcome, previous.get(path))
            except Exception:  # one bad result must not stop the others
                log.exception("dispatch failed", extra={"ctx": {"type": "_ScanDone"}})

    def _writer(self, path: str) -> wire.Process | None:
        w = self._writers.get(path)
        if w is None or time.time() - w.time > 60:
            return None
        return wire.Process(pid=w.pid, name=w.process, exe=w.exe, user=w.user)

    def _on_scanned(self, path: str, pend: _Pending, out: ScanOutcome, prev: FileRecord | None) -> None:
        if out.skipped:
            if pend.action == "move" and pend.old_record is not None and out.skipped.startswith("cannot open"):
                self._deleted(pend.old_record, pend.root)  # moved and already gone
            return
        self.status.scanned += 1
        self.status.cache_hits += out.cached
        rec = FileRecord(path, out.size, out.mtime_ns, out.content_hash, out.detectors, out.severity)
        self._index_out.append((pend.root, rec))  # written once the events are committed
        self.index.remember(rec)  # a delete or read that follows must know now (memory only)
        if out.error:
            log.info("content not fully scanned", extra={"ctx": {"path": path, "error": out.error}})
        old = pend.old_record
        new_content = prev is None or prev.hash != out.content_hash
        if pend.root in self.removable and new_content and pend.action != "move":  # a rename on the stick is no copy
            self._on_removable_copy(path, pend.root, out, self._writer(path))
        if pend.action == "move":
            if not out.findings and (old is None or not old.sensitive):
                return
            kind = "file.move"
        else:
            if not new_content:
                return  # the same content as before: nothing new to tell
            if not out.findings and not self.cfg.files.report_all:
                return
            kind = "file.create" if pend.action == "create" or (prev is None and pend.action != "catchup") else "file.write"
        attrs: dict[str, Any] = {"latency_s": round(time.time() - pend.queued_at, 3), "cached": out.cached}
        if pend.catch_up:
            attrs["catch_up"] = True
        if old is not None:
            attrs["previous_detectors"] = list(old.detectors)
            old_ext, new_ext = os.path.splitext(old.path)[1].lower(), os.path.splitext(path)[1].lower()
            if old_ext != new_ext:
                attrs["extension_changed"] = [old_ext, new_ext]
        if out.error:
            attrs["scan_error"] = out.error[:200]
        if out.findings and self.fanotify is not None:
            self.fanotify.watch_reads(path)
        writer = self._writer(path)
        if writer is not None and out.findings and writer.pid:
            w = self._writers[path]
            self._sensitive_reads[writer.pid] = (time.time(), path, out.detectors, w)
        risk = _SEV_RISK[out.severity] or _SEV_RISK[old.severity if old else None]
        channel = self.channel_of(pend.root)
        self.event(
            kind,
            channel,
            risk + (2 if channel == "removable" else 0),
            process=writer,
            file=wire.FileInfo(
                path=path[:4096], size=out.size, content_hash=out.content_hash, media_type=out.media_type,
                disguised=out.disguised, old_path=(pend.old_path or None) and pend.old_path[:4096],  # type: ignore[index]
            ),
            device=self.removable.get(pend.root),
            findings=[wire.WireFinding(**{**f, "location": wire.WireLocation(**f["location"])}) for f in out.findings[:10000]],
            attributes=attrs,
        )

    def _on_access(self, a: FileAccess) -> None:
        if a.write:
            self._writers[a.path] = a
            self._writers.move_to_end(a.path)
            if len(self._writers) > 20_000:
                self._writers.popitem(last=False)
        rec = self.index.sensitive.get(a.path)
        if rec is not None:
            self._sensitive_reads[a.pid] = (a.time, a.path, rec.detectors, a)

    # -- overflow, catch-up, rescans ---------------------------------------
    def _on_overflow(self, o: RootOverflow) -> None:
        self.event("agent.overflow", "agent", 6, attributes={"root": o.root, "source": o.source, "action": "rescan"})
        self._walk(o.root)

    def catch_up(self, root: str, *, initial_scan: bool = True) -> None:
        self._walk(root, initial_scan=initial_scan, report_gap=True)

    def _walk(self, root: str, subdir: str | None = None, initial_scan: bool = True, report_gap: bool = False,
              since: float | None = None) -> None:
        key = subdir or root
        running = self._walks.get(key)
        if running is not None and running.is_alive():
            return
        t = threading.Thread(target=self._walker, args=(root, subdir, initial_scan, report_gap, since), name="walk", daemon=True)
        self._walks[key] = t
        self._last_rescan[root] = time.monotonic()
        t.start()

    def _walker(self, root: str, subdir: str | None, initial_scan: bool, report_gap: bool, since: float | None) -> None:
        """Compare the tree with the index; changed files go through the queue like live events.

        On a first walk without ``initial_scan`` files are only recorded, except
        those modified after ``since`` (written between a mount and its watch).
        Files new since the last walk are held back until the deletions are known:
        one with the content of a deleted file that had findings is that file renamed
        (``mv a.txt a.jpg`` while the agent was down), reported as a move.
        """
        try:
            known = self.index.root_state(root)
            first_time = not self.index.root_indexed(root)
            hold_new = bool(known) and subdir is None  # deletions are known only after a whole-root walk
            seen: set[str] = set()
            baseline: list[FileRecord] = []
            fresh: list[tuple[str, int]] = []
            changed = dirs = 0
            stack = [subdir or root]
            while stack:
                d = stack.pop()
                dirs += 1
                try:
                    it = os.scandir(d)
                except OSError:
                    continue
                with it:
                    for entry in it:
                        try:
                            if entry.is_dir(follow_symlinks=False):
                                if not self.filter.dir_excluded(entry.path):
                                    stack.append(entry.path)
                                continue
                            if not entry.is_file(follow_symlinks=False) or not self.filter.wanted(entry.path):
                                continue
                            st = entry.stat(follow_symlinks=False)
                        except OSError:
                            continue
                        seen.add(entry.path)
                        if known.get(entry.path) == (st.st_size, st.st_mtime_ns):
                            continue
                        if first_time and not initial_scan and (since is None or st.st_mtime < since):
                            baseline.append(FileRecord(entry.path, st.st_size, st.st_mtime_ns, None, (), None))
                            if len(baseline) >= 2000:
                                self.index.put_many(root, baseline)
                                baseline = []
                            continue
                        changed += 1
                        if entry.path in known or first_time:
                            self.inbox.put(FileActivity("catchup", entry.path, root, time=time.time(), catch_up=True))
                        elif hold_new:
                            fresh.append((entry.path, st.st_size))
                        else:
                            self.inbox.put(FileActivity("create", entry.path, root, time=time.time(), catch_up=True))
            if baseline:
                self.index.put_many(root, baseline)
            deleted = moved = 0
            if subdir is None:
                gone = known.keys() - seen
                for path, old in self._renamed(fresh, gone):
                    if old is None:
                        self.inbox.put(FileActivity("create", path, root, time=time.time(), catch_up=True))
                    else:
                        moved += 1
                        gone.discard(old)
                        self.inbox.put(FileActivity("move", path, root, old_path=old, time=time.time(), catch_up=True))
                for path in gone:
                    deleted += 1
                    self.inbox.put(FileActivity("delete", path, root, time=time.time()))
                self.index.mark_root_indexed(root)
                self.inbox.put(_WalkDone(root, dirs))
            changed -= moved
            if report_gap and (changed or deleted or moved) and not first_time:
                self.inbox.put(MonitorState("catch-up", "ok", f"{root}: {changed} changed, {deleted} deleted, {moved} moved "
                                                              "while down"))
            log.info("walk done", extra={"ctx": {"root": root, "files": len(seen), "changed": changed, "deleted": deleted,
                                                 "moved": moved}})
        except Exception:
            log.exception("walk failed")

    def _renamed(self, fresh: list[tuple[str, int]], gone: set[str]) -> list[tuple[str, str | None]]:
        """Pair new files with deleted files that had findings, by size then keyed content hash."""
        by_size: dict[int, list[FileRecord]] = {}
        for path in gone:
            rec = self.index.sensitive.get(path)
            if rec is not None and rec.hash:
                by_size.setdefault(rec.size, []).append(rec)
        out: list[tuple[str, str | None]] = []
        for path, size in fresh:
            candidates = by_size.get(size)
            match = None
            if candidates and size <= self.cfg.budget.max_file_size:
                try:
                    with open(path, "rb") as f:
                        digest = self.scanner.content_hash(f.read())
                except OSError:
                    digest = None
                match = next((r for r in candidates if r.hash == digest), None)
                if match is not None:
                    candidates.remove(match)
            out.append((path, match.path if match else None))
        return out

    def _check_watches(self) -> None:
        """Folders counted by walks vs watches the kernel holds: fewer watches = blind spots."""
        if self.files is None or not self._root_dirs:
            return
        self._last_watch_check = time.monotonic()
        watched_roots = [r for r in self._root_dirs if r in self.files.roots]
        need = sum(self._root_dirs[r] for r in watched_roots)
        have = self.files.kernel_watches()
        if have < need:
            for r in watched_roots:
                self.files.unwatched.add(r)  # periodic rescans cover what inotify cannot
            self._on_monitor_state(MonitorState(
                "files", "degraded",
                f"inotify watch limit reached: {have} of {need} folders watched; roots rescanned every "
                f"{self.cfg.files.rescan_interval:.0f}s (raise fs.inotify.max_user_watches)"))
        elif self.status.monitors.get("files") == "degraded" and "watch limit" in self.status.degraded.get("files", ""):
            self._on_monitor_state(MonitorState("files", "ok"))

    def check_roots(self) -> None:
        """Configured roots: report those missing, watch those that (re)appeared.

        Deleting a root (or deleting and making it again) kills its inotify watches;
        the folder's device and inode tell a root made again from the one watched.
        """
        if self.files is None:
            return
        self._last_root_check = time.monotonic()
        for root in self.cfg.files.roots:
            key = f"files:{root}"
            if self.files.root_intact(root) or (root in self.files.unwatched and self.files.folder_id(root)):
                continue  # watched, or left to rescans (watch limit) and reported as such
            if root in self.files.roots:
                self.files.remove_root(root)
                log.warning("watched root gone or replaced", extra={"ctx": {"root": root}})
            if self.files.folder_id(root) is None:
                self._set_degraded(key, f"watched root missing: {root} (looked for every "
                                        f"{self.cfg.files.root_check_interval:g}s)")
                continue
            if self.files.add_root(root):
                log.info("watching root", extra={"ctx": {"root": root}})
                self._set_degraded(key, None)
                self._walk(root, initial_scan=self.cfg.files.initial_scan, report_gap=True)  # written before the watch was back

    def resume_removable(self, mountpoint: str, device: wire.Device) -> None:
        """A medium reported before a reload: watch it again without a new device.mount."""
        self.removable[mountpoint] = device
        if self.files is not None and self.files.add_root(mountpoint) and self.fanotify is not None:
            self.fanotify.add_root(mountpoint)
        self._walk(mountpoint)  # files written while the agent reloaded

    # -- devices ---------------------------------------------------------------
    def _device(self, ident: dict[str, Any], policy: str, mountpoint: str | None = None) -> wire.Device:
        return wire.Device(
            vendor_id=ident.get("vendor_id"), product_id=ident.get("product_id"), vendor=ident.get("vendor"),
            model=ident.get("model"), serial=ident.get("serial"), fs_uuid=ident.get("fs_uuid"), label=ident.get("label"),
            size=ident.get("size"), mountpoint=mountpoint[:4096] if mountpoint else None, policy=policy,  # type: ignore[arg-type]
        )

    def _on_usb(self, u: UsbChange) -> None:
        """Plugged in or removed (``device.attach`` / ``device.detach``), mounted or not."""
        if u.action == "detach":
            seen = self.usb.pop(u.sysname, None)
            if seen is not None:
                self.event("device.detach", "removable", 3, device=seen[1],
                           attributes={"usb_port": u.sysname, "usb_kind": u.identity.get("kind")})
            return
        ident = dict(u.identity)
        decision = self.device_policy.decide(ident)
        key = device_key(ident)
        dev = self._device(ident, decision.action)
        if u.at_start and not decision.revoked:
            # Already plugged in when the agent (re)started: told once, when first seen, so that a
            # restart or reload does not re-report the webcam and the stick left in the port.
            known = next((d["times"] for d in self.index.devices() if d["key"] == key), None)
            if known is not None:
                self.usb[u.sysname] = (key, dev, False, known)
                return
        first, times = self.index.see_device(key, ident)
        self.usb[u.sysname] = (key, dev, first, times)
        attrs: dict[str, Any] = {"usb": "attach", "usb_port": u.sysname, "usb_kind": ident.get("kind"), "rule": decision.rule,
                                 "severity": decision.severity, "first_seen": first, "sightings": times,
                                 "attached_at_start": u.at_start}
        if decision.revoked:
            attrs["revoked"] = decision.revoked
            log.error("revoked device seen", extra={"ctx": {"usb_port": u.sysname, "reason": decision.revoked}})
        self.event("device.attach", "removable", {"low": 2, "high": 6, "critical": 9}[decision.severity], device=dev,
                   attributes=attrs)

    def _on_device(self, d: DeviceChange | UsbChange) -> None:
        if isinstance(d, UsbChange):
            self._on_usb(d)
            return
        if not d.removable:
            return
        if d.action == "unmount":
            dev = self.removable.pop(d.mountpoint, None)
            if dev is None:
                return
            if self.files is not None:
                self.files.remove_root(d.mountpoint)
            if self.fanotify is not None:
                self.fanotify.remove_root(d.mountpoint)
            self.index.remove_root(d.mountpoint)
            for p in [p for p in self.pending if p.startswith(d.mountpoint.rstrip("/") + "/")]:
                del self.pending[p]
            self.event("device.unmount", "removable", 3, device=dev)
            return
        ident = dict(d.identity)
        decision = self.device_policy.decide(ident)
        key = device_key(ident)
        attached = next(((port, v) for port, v in self.usb.items() if v[0] == key), None)
        # Mounting a stick already reported attached is the same sighting, not a second one.
        first, times = attached[1][2:] if attached else self.index.see_device(key, ident)
        attrs: dict[str, Any] = {
            "rule": decision.rule, "severity": decision.severity, "first_seen": first, "sightings": times,
            "source": d.source, "fstype": d.fstype,
        }
        if ident.get("declared_removable"):
            attrs["declared_removable"] = True
        if decision.revoked:
            attrs["revoked"] = decision.revoked
            log.error("revoked device seen", extra={"ctx": {"mountpoint": d.mountpoint, "reason": decision.revoked}})
        if decision.action == "block":
            attrs["remounted_readonly"], why = self._remount_ro(d.mountpoint)
            if why:
                attrs["remount_error"] = why
        if attached:
            attrs["usb_port"] = attached[0]
        dev = self._device(ident, decision.action, d.mountpoint)
        self.removable[d.mountpoint] = dev
        risk = {"low": 2, "high": 6, "critical": 9}[decision.severity]
        self.event("device.mount", "removable", risk, device=dev, attributes=attrs)
        if self.files is not None and self.files.add_root(d.mountpoint) and self.fanotify is not None:
            self.fanotify.add_root(d.mountpoint)
        # Baseline what is on the medium now, so later writes (the leak) are told apart.
        self._walk(d.mountpoint, initial_scan=False, since=d.time - 1.0)

    def _remount_ro(self, mountpoint: str) -> tuple[bool, str | None]:
        if not self.cfg.devices.remount_readonly:
            return False, "disabled by devices.remount_readonly"
        if not self.is_root:
            return False, "not root: cannot remount read-only"
        try:
            r = subprocess.run(["mount", "-o", "remount,ro", mountpoint], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError) as e:
            return False, str(e)[:200]
        return r.returncode == 0, (r.stderr.strip()[:200] or None) if r.returncode else None

    # -- network -----------------------------------------------------------------
    def _internal(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self._internal_nets)

    def _cool(self, key: tuple, now: float) -> bool:
        """True when an alert for ``key`` may fire (not fired within the cooldown)."""
        if self._cooldown.get(key, 0.0) > now - self.cfg.network.alert_cooldown:
            return False
        if len(self._cooldown) > 50_000:
            self._cooldown.clear()
        self._cooldown[key] = now
        return True

    def _on_net(self, c: NetConnection) -> None:
        if self._internal(c.ip):
            return
        host = self._names.get(c.ip)
        category = self.destinations.categorize(host)
        proc = wire.Process(pid=c.pid, name=c.process, exe=c.exe, user=c.user) if c.pid or c.process else None
        dest = wire.Destination(host=host, ip=c.ip, port=c.port, category=category.name if category else None, bytes_sent=c.bytes_sent)
        who = c.process or str(c.pid)
        if category is not None and category.forbidden and self._cool(("cat", who, host), c.time):
            self.event("net.forbidden_destination", "network", 6, process=proc, destination=dest,
                       attributes={"category": category.name, "rule": "destinations.forbidden", "name_source": "dns/sni"})
        read = self._sensitive_reads.get(c.pid) if c.pid else None
        window = self.cfg.network.read_send_window
        if read is not None and c.bytes_sent > 0 and c.time - read[0] <= window and self._cool(("read", c.pid, c.ip), c.time):
            t, path, detectors, _acc = read
            self.event("net.transfer", "network", 8, process=proc, destination=dest, file=wire.FileInfo(path=path[:4096]),
                       attributes={"rule": "sensitive_read_then_send", "read_at": t, "seconds_after_read": round(c.time - t, 1),
                                   "detectors": list(detectors), "window_s": window})
        if c.bytes_sent > 0 and self.baselines is not None:
            cat = category.name if category else ("web" if c.port in (80, 443) else "other")
            verdicts = self._observe(lambda b, key: b.observe(key, cat, c.bytes_sent, c.time, destination=host or c.ip),
                                     c.exe or c.process)
            # The destination's own baseline, once per observation (not per key): whoever sends, how
            # much it usually receives in an hour. Its verdict leads only when the process and host were quiet.
            verdicts += self._guarded(lambda b: b.observe_destination(host or c.ip, cat, c.bytes_sent, c.time))
            self._anomaly(verdicts, "network", process=proc, destination=dest)

    # -- behaviour baselines (detectors.ml.anomaly) ------------------------------
    def _baseline_keys(self, program: str | None) -> list[str]:
        """The process key first (its wording is the more precise), then the host's."""
        host = self.cfg.host
        return ([f"process:{host}/{program}"] if program else []) + [f"host:{host}"]

    def _observe(self, fn: Callable[[Baselines, str], AnomalyVerdict | None], program: str | None) -> list[AnomalyVerdict | None]:
        """Record one observation under each key; a failing baseline store must not cost the event that caused it."""
        return self._guarded(lambda b: [fn(b, key) for key in self._baseline_keys(program)])

    def _guarded(self, fn: Callable[[Baselines], Any]) -> list[AnomalyVerdict | None]:
        assert self.baselines is not None
        try:
            out = fn(self.baselines)
            verdicts = out if isinstance(out, list) else [out]
        except (sqlite3.Error, LeakWardenError) as e:
            self._set_degraded("baselines", f"behaviour baselines unavailable: {e}")
            return []
        if "baselines" in self.status.degraded:
            self._set_degraded("baselines", None)
        return verdicts

    def _anomaly(self, verdicts: list[AnomalyVerdict | None], channel: str, **fields: Any) -> None:
        """One net.anomaly event for what the process and the host keys said about one observation."""
        found = [v for v in verdicts if v is not None]
        if not found:
            return
        v = found[0]
        attrs: dict[str, Any] = {"rule": f"baseline_{v.signal}", **v.to_dict(), "baseline_key": v.key}
        # JSON has no infinity: an hour never seen before has no finite deviation, the explanation says so.
        attrs["deviation"] = round(v.deviation, 2) if math.isfinite(v.deviation) else None
        attrs["baseline"], attrs["observed"] = round(v.baseline, 1), round(v.observed, 1)  # medians come back through exp(log)
        if len(found) > 1:
            attrs["also"] = [{"baseline_key": o.key, "signal": o.signal, "explanation": o.explanation} for o in found[1:]]
        log.warning("behaviour anomaly", extra={"ctx": {"key": v.key, "signal": v.signal, "category": v.category}})
        self.event("net.anomaly", channel, 6 if channel == "network" else 7, attributes=attrs, **fields)

    def _on_removable_copy(self, path: str, root: str, out: ScanOutcome, writer: wire.Process | None) -> None:
        if self.baselines is None:
            return
        dev = self.removable.get(root)
        label = dev and (dev.label or dev.model or dev.serial)
        verdicts = self._observe(lambda b, key: b.observe_copy(key, 1, out.size, time.time(), device=label or root),
                                 writer and (writer.exe or writer.name))
        self._anomaly(verdicts, "removable", process=writer, device=dev,
                      file=wire.FileInfo(path=path[:4096], size=out.size, content_hash=out.content_hash))

    # -- self-supervision ------------------------------------------------------
    def _on_monitor_state(self, m: MonitorState) -> None:
        if m.monitor == "catch-up":
            self.event("agent.gap", "agent", 4, attributes={"detail": m.reason})
            return
        self.status.monitors[m.monitor] = m.state
        self._set_degraded(m.monitor, m.reason if m.state != "ok" else None)

    def _on_tick(self, now: float) -> None:
        ratio = self.spool.fill_ratio()
        if "spool" not in self.status.degraded or "near full" in self.status.degraded.get("spool", ""):
            self._set_degraded("spool", f"spool near full ({ratio:.0%})" if ratio >= self.cfg.spool.near_full else None)
        drops = self.spool.drops()
        if drops > self._reported_drops:
            self.event("agent.spool_drop", "agent", 7, attributes={"dropped": drops - self._reported_drops, "drops_total": drops,
                                                                   "policy": "lowest risk first"})
            self._reported_drops = drops
        if self.files is not None and time.monotonic() - self._last_watch_check > 60:
            self._check_watches()
        if self.files is not None and time.monotonic() - self._last_root_check >= self.cfg.files.root_check_interval:
            self.check_roots()
        if self.files is not None:
            for root in list(self.files.unwatched):
                if time.monotonic() - self._last_rescan.get(root, 0.0) >= self.cfg.files.rescan_interval:
                    self._walk(root)
        if now - self._last_heartbeat >= self.cfg.heartbeat_interval:
            self._last_heartbeat = now
            self.event("agent.heartbeat", "agent", 0, attributes=self.heartbeat())

    def heartbeat(self) -> dict[str, Any]:
        monitors = dict(self.status.monitors)
        if any(k.startswith("files:") for k in self.status.degraded):
            monitors["files"] = "degraded"  # a watched root is missing
        return {
            "version": self.version,
            "config_hash": self.cfg.config_hash,
            "binary_hash": self.binary_hash,
            "key_fingerprint": self.cfg.key_fingerprint,
            "monitors": monitors,
            "queue_depth": self.inbox.qsize(),
            "queue_max": self.inbox.maxsize,
            "monitor_drops": self.monitor_drops(),
            "spool_depth": self.spool.depth,
            "drops": self.spool.drops(),
            "degraded": sorted(self.status.degraded.values()),
            "pending_scans": len(self.pending) + len(self.inflight),
            "scanned": self.status.scanned,
            "cache_hits": self.status.cache_hits,
            "skipped_budget": self.scanner.skipped_budget,
            "holdover": len(self._holdover),
            "removable_mounted": sorted(self.removable),
        }

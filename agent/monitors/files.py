"""File activity on watched roots, through watchdog's inotify observer.

Emits :class:`agent.events.FileActivity` for create/modify/close-after-write/
move/delete and :class:`agent.events.RootOverflow` when events were lost:
either the kernel's inotify queue overflowed (watchdog rebuilds its watches
and logs it; we hook that log record, the only signal watchdog gives) or the
agent's own bounded queue was full. Either way the pipeline rescans the root:
loss is never silent. A root that cannot be watched (watch limit reached) is
reported degraded and left to periodic rescans.
"""

from __future__ import annotations

import errno
import fnmatch
import logging
import os
import queue
import re
import stat
import threading
import time
from collections.abc import Callable

from watchdog.events import (
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import EventQueue, ObservedWatch
from watchdog.observers.inotify import InotifyObserver

from agent.events import FileActivity, MonitorState, RootOverflow

log = logging.getLogger("agent.files")

_WANTED = [DirDeletedEvent, DirMovedEvent, FileClosedEvent, FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent]


def _globs(patterns: tuple[str, ...]) -> Callable[[str], object]:
    """One compiled regex for a list of globs (fnmatch semantics): one match call per path, not one per glob."""
    if not patterns:
        return lambda _s: None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns), re.DOTALL).match


class PathFilter:
    """include/exclude globs, each matched on the full path and on the file name."""

    def __init__(self, include: tuple[str, ...], exclude: tuple[str, ...]) -> None:
        self.include = include
        self.exclude = exclude
        self._include = _globs(include)
        self._exclude = _globs(exclude)

    def wanted(self, path: str) -> bool:
        name = path[path.rfind("/") + 1:]
        if not (self._include(path) or self._include(name)):
            return False
        return not (self._exclude(path) or self._exclude(name))

    def dir_excluded(self, path: str) -> bool:
        return bool(self._exclude(path.rstrip("/") + "/x"))


class _Handler(FileSystemEventHandler):
    def __init__(self, monitor: "FilesMonitor", root: str) -> None:
        self.monitor = monitor
        self.root = root

    def dispatch(self, event: FileSystemEvent) -> None:
        src = os.fsdecode(event.src_path)
        now = time.time()
        m = self.monitor
        # The observer reports unpaired moves (generate_full_events): an IN_MOVED_FROM without its
        # IN_MOVED_TO has an empty destination (moved out of the watched roots: not a deletion),
        # an IN_MOVED_TO without its IN_MOVED_FROM an empty source (moved in).
        if isinstance(event, (DirDeletedEvent, DirMovedEvent)):
            dest = os.fsdecode(event.dest_path) if isinstance(event, DirMovedEvent) else ""
            if isinstance(event, DirDeletedEvent):
                m.emit(FileActivity("delete", src, self.root, time=now), self.root)
            elif not dest:
                m.emit(FileActivity("moved_out", src, self.root, time=now), self.root)
            else:
                m.emit(FileActivity("move", dest, self.root, old_path=src or None, time=now), self.root)
            return
        if isinstance(event, FileMovedEvent):
            dest = os.fsdecode(event.dest_path)
            if not dest:
                if m.filter.wanted(src):
                    m.emit(FileActivity("moved_out", src, self.root, time=now), self.root)
            elif not src:
                if m.filter.wanted(dest):  # moved in from outside: new here, like a create
                    m.told(dest, now)
                    m.emit(FileActivity("create", dest, self.root, time=now), self.root)
            elif m.filter.wanted(dest) or m.filter.wanted(src):
                m.emit(FileActivity("move", dest, self.root, old_path=src, time=now), self.root)
            return
        if not m.filter.wanted(src):
            return
        if isinstance(event, FileDeletedEvent):
            m.emit(FileActivity("delete", src, self.root, time=now), self.root)
        elif isinstance(event, FileCreatedEvent):
            m.told(src, now)
            m.emit(FileActivity("create", src, self.root, time=now), self.root)
        elif isinstance(event, FileClosedEvent):
            m.emit(FileActivity("write", src, self.root, time=now, closed=True), self.root)
        elif isinstance(event, FileModifiedEvent) and not m.told(src, now):
            m.emit(FileActivity("write", src, self.root, time=now), self.root)


class _DirectQueue(EventQueue):
    """watchdog's observer queue, short-circuited: each event goes to its handler on the emitter's thread.

    watchdog hands every event from its emitter thread to the observer thread through this
    queue; our handler only filters and puts a small record on the agent's own queue, so that
    extra thread hop (a lock, a wake-up and a GIL hand-off per event) is saved. The observer's
    stop marker, and events of a watch whose handler is not registered yet (watchdog starts
    the emitter a moment before it registers the handler), still go through the queue.
    """

    def __init__(self, handlers: "dict[ObservedWatch, set]") -> None:
        super().__init__()
        self._handlers = handlers

    def put(self, item: object, block: bool = True, timeout: float | None = None) -> None:
        handlers = self._handlers.get(item[1]) if isinstance(item, tuple) and len(item) == 2 else None
        if handlers:
            for handler in tuple(handlers):
                try:
                    handler.dispatch(item[0])
                except Exception:  # the emitter thread must survive a bad event, or the root goes blind
                    log.exception("file event dropped")
            return
        super().put(item, block, timeout)


class _DirectObserver(InotifyObserver):
    def __init__(self) -> None:
        super().__init__(generate_full_events=True)
        self._event_queue = _DirectQueue(self._handlers)


class _OverflowHook(logging.Handler):
    """watchdog reports a kernel queue overflow only as a log record naming the root."""

    def __init__(self, on_overflow: Callable[[str], None]) -> None:
        super().__init__(level=logging.WARNING)
        self.on_overflow = on_overflow

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in str(record.msg).lower() and record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            self.on_overflow(os.fsdecode(args[0]))


class FilesMonitor:
    name = "files"
    COALESCE_S = 0.1  # a modify this soon after a create/modify of the same path tells the dispatcher nothing new

    def __init__(self, out: "queue.Queue[object]", include: tuple[str, ...], exclude: tuple[str, ...]) -> None:
        self.out = out
        self.filter = PathFilter(include, exclude)
        self.observer = _DirectObserver()
        self.roots: dict[str, object] = {}  # root -> watch handle
        self.unwatched: set[str] = set()  # roots left to periodic rescans
        self.root_ids: dict[str, tuple[int, int]] = {}  # root -> (st_dev, st_ino) of the folder watched
        self.drops = 0  # events that did not fit the agent queue (each one also triggers a rescan)
        self._overflowing: set[str] = set()
        self._told: dict[str, float] = {}  # path -> last create/modify queued (watchdog's emitter threads)
        self._lock = threading.Lock()
        self._hook = _OverflowHook(self._kernel_overflow)
        logging.getLogger("watchdog.observers.inotify").addHandler(self._hook)

    def start(self) -> None:
        self.observer.start()

    def stop(self) -> None:
        logging.getLogger("watchdog.observers.inotify").removeHandler(self._hook)
        self.observer.stop()
        self.observer.join(timeout=5)

    def add_root(self, root: str) -> bool:
        """Watch a root recursively; False (and a degraded state) when the kernel refuses."""
        with self._lock:
            if root in self.roots:
                return True
            try:
                watch = self.observer.schedule(_Handler(self, root), root, recursive=True, event_filter=_WANTED)
            except OSError as e:
                reason = "inotify watch limit reached" if e.errno == errno.ENOSPC else f"cannot watch: {e.strerror}"
                log.error("root not watched", extra={"ctx": {"root": root, "reason": reason}})
                self.unwatched.add(root)
                self.out.put(MonitorState(self.name, "degraded", f"{reason}: {root}", time.time()))
                return False
            self.roots[root] = watch
            self.root_ids[root] = self.folder_id(root) or (0, 0)
            self.unwatched.discard(root)
            return True

    @staticmethod
    def folder_id(path: str) -> tuple[int, int] | None:
        """(device, inode) of a folder, None when there is no folder there."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None

    def root_intact(self, root: str) -> bool:
        """Watched, and still the same folder: a root deleted (or deleted and made again) has lost its watches."""
        return root in self.roots and self.folder_id(root) == self.root_ids.get(root)

    @staticmethod
    def kernel_watches() -> int:
        """inotify watches this process really holds (from /proc/self/fdinfo).

        watchdog silently skips sub-folders it cannot watch (ENOSPC included),
        so the pipeline compares this with the folders the walker counted.
        """
        total = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                    continue
                with open(f"/proc/self/fdinfo/{fd}") as f:
                    total += sum(1 for line in f if line.startswith("inotify wd:"))
            except OSError:
                continue
        return total

    def remove_root(self, root: str) -> None:
        with self._lock:
            watch = self.roots.pop(root, None)
            self.root_ids.pop(root, None)
            self.unwatched.discard(root)
        if watch is not None:
            try:
                self.observer.unschedule(watch)  # type: ignore[arg-type]
            except (KeyError, OSError):
                pass  # the mount is already gone: its watches went with it

    def root_of(self, path: str) -> str | None:
        best = None
        for r in self.roots:
            if (path == r or path.startswith(r.rstrip("/") + "/")) and (best is None or len(r) > len(best)):
                best = r
        return best

    def told(self, path: str, now: float) -> bool:
        """Whether a create or modify of ``path`` was queued less than COALESCE_S ago; records this one.

        Coalescing here, on watchdog's thread, keeps a file written in one go (create, modify,
        close-write) to two queue items instead of three; writes that go on longer still reach
        the dispatcher every COALESCE_S, so ``max_delay`` keeps its meaning.
        """
        last = self._told.get(path)
        if last is not None and now - last < self.COALESCE_S:
            return True
        if len(self._told) >= 8192:
            self._told.clear()  # bounded: forgetting only costs one extra queue item per path
        self._told[path] = now
        return False

    def emit(self, item: FileActivity, root: str) -> None:
        if root in self._overflowing:
            return  # a rescan is already on its way; it covers this event
        try:
            self.out.put_nowait(item)
        except queue.Full:
            self.drops += 1
            self._overflow(root, "agent-queue")

    def _kernel_overflow(self, path: str) -> None:
        root = self.root_of(path) or path
        self._overflow(root, "inotify")

    def _overflow(self, root: str, source: str) -> None:
        with self._lock:
            if root in self._overflowing:
                return
            self._overflowing.add(root)
        log.warning("events lost, root will be rescanned", extra={"ctx": {"root": root, "source": source}})

        def deliver() -> None:
            # Blocking put: the marker must arrive, and it arrives after what was queued before.
            self.out.put(RootOverflow(root, source, time.time()))
            with self._lock:
                self._overflowing.discard(root)

        threading.Thread(target=deliver, name="overflow", daemon=True).start()

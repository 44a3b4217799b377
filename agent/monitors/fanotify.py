"""Who wrote or read a file: fanotify (Linux, needs CAP_SYS_ADMIN), via ctypes.

inotify says *what* changed but not *who*; fanotify events carry the pid.
We mark the mounts holding the watched roots for close-after-write (who
wrote), and only the files known to hold findings for close-without-write
(who read them: a mount-wide read mark would wake us for every file any
process reads). Paths outside the roots are dropped; the rest become
:class:`agent.events.FileAccess`. Optional: without privilege the monitor
reports "off" with the reason and everything else keeps working.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import queue
import select
import struct
import threading
import time

from agent.events import FileAccess, MonitorState

log = logging.getLogger("agent.fanotify")

FAN_CLOSE_WRITE = 0x08
FAN_CLOSE_NOWRITE = 0x10
FAN_CLASS_NOTIF = 0x0
FAN_CLOEXEC = 0x1
FAN_NONBLOCK = 0x2
FAN_MARK_ADD = 0x1
FAN_MARK_MOUNT = 0x10
AT_FDCWD = -100
_META = struct.Struct("=IBBHQii")  # event_len, vers, reserved, metadata_len, mask, fd, pid


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.fanotify_init.argtypes = [ctypes.c_uint, ctypes.c_uint]
    libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
    return libc


def proc_info(pid: int) -> tuple[str | None, str | None, str | None]:
    """(name, exe, user) of a pid, best effort: it may be gone or not ours to read."""
    name = exe = user = None
    try:
        with open(f"/proc/{pid}/comm") as f:
            name = f.read().strip()
    except OSError:
        pass
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        pass
    try:
        import pwd

        uid = os.stat(f"/proc/{pid}").st_uid
        user = pwd.getpwuid(uid).pw_name
    except (OSError, KeyError):
        pass
    return name, exe, user


class FanotifyMonitor:
    name = "fanotify"
    MAX_READ_MARKS = 50_000

    def __init__(self, out: "queue.Queue[object]") -> None:
        self.out = out
        self.fd = -1
        self.prefixes: tuple[str, ...] = ()
        self._marked: set[int] = set()  # st_dev of marked mounts
        self._read_marked: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._self_pid = os.getpid()

    def start(self, roots: list[str]) -> bool:
        libc = _libc()
        fd = libc.fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, os.O_RDONLY | os.O_LARGEFILE)
        if fd < 0:
            err = ctypes.get_errno()
            reason = "not permitted (needs root/CAP_SYS_ADMIN)" if err in (errno.EPERM, errno.EACCES) else os.strerror(err)
            self.out.put(MonitorState(self.name, "off", f"writer pid unavailable: fanotify {reason}", time.time()))
            return False
        self.fd = fd
        self._libc = libc
        for r in roots:
            self.add_root(r)
        self._thread = threading.Thread(target=self._run, name="fanotify", daemon=True)
        self._thread.start()
        self.out.put(MonitorState(self.name, "ok", None, time.time()))
        return True

    def add_root(self, root: str) -> None:
        if self.fd < 0:
            return
        self.prefixes = tuple(sorted(set(self.prefixes) | {root.rstrip("/") + "/"}))
        try:
            dev = os.stat(root).st_dev
        except OSError:
            return
        if dev in self._marked:
            return
        rc = self._libc.fanotify_mark(self.fd, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_CLOSE_WRITE, AT_FDCWD, root.encode())
        if rc < 0:
            err = ctypes.get_errno()
            self.out.put(MonitorState(self.name, "degraded", f"fanotify mark failed on {root}: {os.strerror(err)}", time.time()))
            return
        self._marked.add(dev)

    def watch_reads(self, path: str) -> bool:
        """Report who reads this (sensitive) file from now on; an inode mark, so it follows renames."""
        if self.fd < 0 or path in self._read_marked:
            return False
        if len(self._read_marked) >= self.MAX_READ_MARKS:
            return False
        rc = self._libc.fanotify_mark(self.fd, FAN_MARK_ADD, FAN_CLOSE_NOWRITE, AT_FDCWD, path.encode())
        if rc == 0:
            self._read_marked.add(path)
        return rc == 0

    def remove_root(self, root: str) -> None:
        self.prefixes = tuple(p for p in self.prefixes if p != root.rstrip("/") + "/")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        while not self._stop.is_set():
            if not poller.poll(1000):
                continue
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            except OSError as e:
                log.error("fanotify read failed", extra={"ctx": {"error": e.strerror}})
                self.out.put(MonitorState(self.name, "degraded", f"fanotify read failed: {e.strerror}", time.time()))
                return
            self._parse(buf)

    def _parse(self, buf: bytes) -> None:
        off = 0
        now = time.time()
        while off + _META.size <= len(buf):
            event_len, _vers, _res, _mlen, mask, fd, pid = _META.unpack_from(buf, off)
            off += event_len or _META.size
            if fd < 0:
                continue  # FAN_NOFD: queue overflow on the fanotify side; inotify still sees the writes
            try:
                path = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                path = ""
            finally:
                os.close(fd)
            if pid == self._self_pid or not path.startswith(self.prefixes):
                continue
            write = bool(mask & FAN_CLOSE_WRITE)
            name, exe, user = proc_info(pid)
            try:
                self.out.put_nowait(FileAccess(path, pid, write, now, name, exe, user))
            except queue.Full:
                pass  # attribution is best effort; content events are protected by the overflow path

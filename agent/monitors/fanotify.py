"""Who wrote or read a file: fanotify (Linux, needs CAP_SYS_ADMIN), via ctypes.

inotify says *what* changed but not *who*; fanotify events carry the pid.
We mark the mounts holding the watched roots for close-after-write (who
wrote), and only the files known to hold findings for close-without-write
(who read them: a mount-wide read mark would wake us for every file any
process reads).

The fanotify reader runs in a helper process (``python -m
agent.monitors.fanotify``). Every fanotify event carries an open fd that must
be closed, and closing *any* fd of a file drops all POSIX locks the process
holds on it: done in the agent, an event about the agent's own spool would
silently release SQLite's locks on it. The helper holds no such locks. It
reports JSON lines; this module's monitor turns them into
:class:`agent.events.FileAccess`. Without privilege the monitor is "off" and
says why; everything else keeps working.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import logging
import os
import queue
import select
import struct
import subprocess
import sys
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

        user = pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    except (OSError, KeyError):
        pass
    return name, exe, user


class FanotifyMonitor:
    """Agent side: starts the helper, forwards commands, reads its events."""

    name = "fanotify"
    MAX_READ_MARKS = 50_000

    def __init__(self, out: "queue.Queue[object]") -> None:
        self.out = out
        self.drops = 0  # accesses lost to a full agent queue
        self.proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._read_marked: set[str] = set()
        self._thread: threading.Thread | None = None

    def start(self, roots: list[str]) -> bool:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent.monitors.fanotify", str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        )
        assert self.proc.stdout is not None
        first = json.loads(self.proc.stdout.readline() or '{"state": "off", "reason": "fanotify helper failed to start"}')
        if first.get("state") != "ok":
            self.out.put(MonitorState(self.name, "off", f"writer pid unavailable: {first.get('reason')}", time.time()))
            self.stop()
            return False
        for r in roots:
            self.add_root(r)
        self._thread = threading.Thread(target=self._run, name="fanotify", daemon=True)
        self._thread.start()
        self.out.put(MonitorState(self.name, "ok", None, time.time()))
        return True

    def _send(self, cmd: str, path: str) -> None:
        with self._lock:
            if self.proc is None or self.proc.poll() is not None or self.proc.stdin is None:
                return
            try:
                self.proc.stdin.write(json.dumps({"cmd": cmd, "path": path}) + "\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass

    def add_root(self, root: str) -> None:
        self._send("root", root)

    def remove_root(self, root: str) -> None:
        self._send("unroot", root)

    def watch_reads(self, path: str) -> bool:
        """Report who reads this (sensitive) file from now on; an inode mark, so it follows renames."""
        if path in self._read_marked or len(self._read_marked) >= self.MAX_READ_MARKS:
            return False
        self._read_marked.add(path)
        self._send("read", path)
        return True

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        for line in proc.stdout:
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if "state" in d:
                self.out.put(MonitorState(self.name, d["state"], d.get("reason"), time.time()))
                continue
            try:
                self.out.put_nowait(FileAccess(d["path"], d["pid"], d["write"], d["time"], d.get("process"), d.get("exe"), d.get("user")))
            except queue.Full:
                # Attribution is best effort (content events are protected by the overflow path), but counted.
                self.drops += 1
        if self.proc is not None:  # the helper died while we were running
            self.out.put(MonitorState(self.name, "degraded", "fanotify helper exited", time.time()))


# -- helper process ------------------------------------------------------------
def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def helper(ignore_pid: int) -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.fanotify_init.argtypes = [ctypes.c_uint, ctypes.c_uint]
    libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
    fd = libc.fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, os.O_RDONLY | os.O_LARGEFILE)
    if fd < 0:
        err = ctypes.get_errno()
        reason = "not permitted (needs CAP_SYS_ADMIN)" if err in (errno.EPERM, errno.EACCES) else os.strerror(err)
        _emit({"state": "off", "reason": f"fanotify {reason}"})
        return 0
    _emit({"state": "ok"})
    prefixes: set[str] = set()
    marked_devs: set[int] = set()
    me = os.getpid()
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.register(sys.stdin.fileno(), select.POLLIN | select.POLLHUP)
    stdin = os.fdopen(sys.stdin.fileno(), "r", buffering=1)
    while True:
        for ready, ev in poller.poll():
            if ready != fd:
                line = stdin.readline()
                if not line:
                    return 0  # the agent went away
                try:
                    cmd = json.loads(line)
                except ValueError:
                    continue
                path = str(cmd.get("path", ""))
                if cmd.get("cmd") == "root":
                    prefixes.add(path.rstrip("/") + "/")
                    try:
                        dev = os.stat(path).st_dev
                    except OSError:
                        continue
                    if dev not in marked_devs:
                        if libc.fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_CLOSE_WRITE, AT_FDCWD, path.encode()) < 0:
                            _emit({"state": "degraded", "reason": f"fanotify mark failed on {path}: {os.strerror(ctypes.get_errno())}"})
                        else:
                            marked_devs.add(dev)
                elif cmd.get("cmd") == "unroot":
                    prefixes.discard(path.rstrip("/") + "/")
                elif cmd.get("cmd") == "read":
                    libc.fanotify_mark(fd, FAN_MARK_ADD, FAN_CLOSE_NOWRITE, AT_FDCWD, path.encode())
                continue
            try:
                buf = os.read(fd, 65536)
            except BlockingIOError:
                continue
            now = time.time()
            off = 0
            while off + _META.size <= len(buf):
                event_len, _v, _r, _m, mask, efd, pid = _META.unpack_from(buf, off)
                off += event_len or _META.size
                if efd < 0:
                    continue  # FAN_NOFD (queue overflow): inotify still sees the writes
                try:
                    path = os.readlink(f"/proc/self/fd/{efd}")
                except OSError:
                    path = ""
                finally:
                    os.close(efd)
                if pid in (me, ignore_pid) or not path.startswith(tuple(prefixes)):
                    continue
                name, exe, user = proc_info(pid)
                _emit({"path": path, "pid": pid, "write": bool(mask & FAN_CLOSE_WRITE), "time": now,
                       "process": name, "exe": exe, "user": user})


if __name__ == "__main__":
    sys.exit(helper(int(sys.argv[1]) if len(sys.argv) > 1 else -1))

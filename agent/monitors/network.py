"""Outbound TCP connections and bytes per process and destination.

Every ``interval`` the monitor dumps TCP sockets through netlink sock_diag
(the interface ``ss`` uses: no root needed, kernel counters ``bytes_acked``
per socket), maps socket inodes to processes through /proc/*/fd, and emits
one :class:`agent.events.NetConnection` per new outbound connection and per
connection that sent bytes since the last sample. Sockets whose local port is
a listening port are inbound and skipped. Without sock_diag (not Linux,
seccomp) it falls back to psutil, which has no byte counts.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import queue
import socket
import struct
import threading
import time

import psutil

from agent.events import MonitorState, NetConnection
from agent.monitors.fanotify import proc_info

log = logging.getLogger("agent.network")

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_DONE, NLMSG_ERROR = 3, 2
INET_DIAG_INFO = 2
TCP_LISTEN = 10
_SKIP_STATES = {6, 7, TCP_LISTEN}  # TIME_WAIT, CLOSE, LISTEN
_TCPI_BYTES_ACKED = 120  # offset of tcpi_bytes_acked in struct tcp_info


def _addr(family: int, raw: bytes) -> str:
    return socket.inet_ntop(family, raw[:4] if family == socket.AF_INET else raw[:16])


def sock_diag_tcp(family: int) -> list[dict]:
    """All TCP sockets of one family: state, addresses, inode, uid, bytes acked."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
    try:
        # struct inet_diag_req_v2: family, protocol, ext, pad, states; then inet_diag_sockid (48 bytes)
        req = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 1 << (INET_DIAG_INFO - 1), 0, 0xFFFFFFFF) + b"\0" * 48
        hdr = struct.pack("=IHHII", 16 + len(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
        s.sendto(hdr + req, (0, 0))
        out: list[dict] = []
        while True:
            data = s.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                length, mtype, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, off)
                if mtype == NLMSG_DONE:
                    return out
                if mtype == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", data, off + 16)[0]
                    raise OSError(err, os.strerror(err))
                body = data[off + 16 : off + length]
                fam, state = body[0], body[1]
                sport, dport = struct.unpack_from(">HH", body, 4)
                src, dst = body[8:24], body[24:40]
                uid, inode = struct.unpack_from("=II", body, 64)
                sent = None
                a = 72
                while a + 4 <= len(body):
                    alen, atype = struct.unpack_from("=HH", body, a)
                    if alen < 4:
                        break
                    if atype == INET_DIAG_INFO and alen - 4 >= _TCPI_BYTES_ACKED + 8:
                        # The kernel counts the SYN as one byte acked (data sent N: bytes_acked N + 1).
                        sent = max(struct.unpack_from("=Q", body, a + 4 + _TCPI_BYTES_ACKED)[0] - 1, 0)
                    a += (alen + 3) & ~3
                out.append({
                    "state": state, "src": _addr(fam, src), "sport": sport, "dst": _addr(fam, dst), "dport": dport,
                    "uid": uid, "inode": inode, "sent": sent,
                })
                off += (length + 3) & ~3
    finally:
        s.close()


def inode_owners(wanted: set[int]) -> dict[int, int]:
    """socket inode -> pid, for the inodes asked about (scans /proc/*/fd)."""
    owners: dict[int, int] = {}
    if not wanted:
        return owners
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                ino = int(link[8:-1])
                if ino in wanted:
                    owners[ino] = int(pid)
                    if len(owners) == len(wanted):
                        return owners
    return owners


class NetworkMonitor:
    name = "network"

    def __init__(self, out: "queue.Queue[object]", *, interval: float, include_loopback: bool) -> None:
        self.out = out
        self.drops = 0  # samples lost to a full agent queue
        self.interval = interval
        self.include_loopback = include_loopback
        self._seen: dict[tuple, int] = {}  # connection key -> bytes acked at the last sample
        self._owner: dict[int, tuple[int | None, str | None, str | None, str | None]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.mode = "sock_diag"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="network", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)

    def _sockets(self) -> list[dict]:
        if self.mode == "sock_diag":
            try:
                return sock_diag_tcp(socket.AF_INET) + sock_diag_tcp(socket.AF_INET6)
            except OSError as e:
                self.mode = "psutil"
                self.out.put(MonitorState(self.name, "degraded", f"sock_diag unavailable ({e.strerror}); no byte counts", time.time()))
        out = []
        for c in psutil.net_connections(kind="tcp"):
            if c.raddr:
                out.append({"state": 1, "src": c.laddr.ip, "sport": c.laddr.port, "dst": c.raddr.ip, "dport": c.raddr.port,
                            "uid": None, "inode": None, "sent": None, "pid": c.pid})
            elif c.status == psutil.CONN_LISTEN:
                out.append({"state": TCP_LISTEN, "src": c.laddr.ip, "sport": c.laddr.port, "dst": "", "dport": 0,
                            "uid": None, "inode": None, "sent": None, "pid": c.pid})
        return out

    def sample(self) -> list[NetConnection]:
        socks = self._sockets()
        now = time.time()
        listening = {s["sport"] for s in socks if s["state"] == TCP_LISTEN}
        outbound = []
        for s in socks:
            if s["state"] in _SKIP_STATES or not s["dport"] or s["sport"] in listening or s["inode"] == 0:
                continue  # listening, inbound, or closed sockets lingering without an owner
            ip = ipaddress.ip_address(s["dst"])
            if getattr(ip, "ipv4_mapped", None):
                ip = ip.ipv4_mapped  # type: ignore[union-attr]
            if ip.is_loopback and not self.include_loopback:
                continue
            outbound.append((s, str(ip)))
        unknown = {s["inode"] for s, _ in outbound if s["inode"] and s["inode"] not in self._owner}
        for ino, pid in inode_owners(unknown).items():
            self._owner[ino] = (pid, *proc_info(pid))
        events, current = [], {}
        for s, ip in outbound:
            key = (s["inode"] or s.get("pid"), s["src"], s["sport"], ip, s["dport"])
            sent = s["sent"] or 0
            prev = self._seen.get(key)
            current[key] = sent
            delta = sent - (prev or 0)
            if prev is not None and delta <= 0:
                continue
            pid, name, exe, user = self._owner.get(s["inode"], (s.get("pid"), None, None, None))
            events.append(NetConnection(pid, name, exe, user, ip, s["dport"], max(delta, 0), prev is None, now))
        self._seen = current
        live = {s["inode"] for s, _ in outbound}
        self._owner = {k: v for k, v in self._owner.items() if k in live}
        return events

    def _run(self) -> None:
        self.out.put(MonitorState(self.name, "ok", None, time.time()))
        while not self._stop.wait(self.interval):
            try:
                events = self.sample()
                for i, ev in enumerate(events):
                    try:
                        self.out.put_nowait(ev)
                    except queue.Full:
                        # The queue is full: the rest of this sample is lost, and counted (heartbeat monitor_drops).
                        self.drops += len(events) - i
                        break
            except Exception as e:  # a broken sample must not kill the monitor thread
                log.exception("network sample failed")
                self.out.put(MonitorState(self.name, "degraded", f"sample failed: {type(e).__name__}", time.time()))

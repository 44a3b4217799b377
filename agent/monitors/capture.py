"""Destination names from DNS answers and TLS SNI, by AF_PACKET capture (root).

A classic BPF filter in the kernel passes only UDP from port 53 and TCP to
port 443 (IPv4, and IPv6 without extension headers), truncated to the first
1500 bytes, so the Python side sees a trickle. DNS A/AAAA answers map the
addresses to the asked name (through CNAME chains); a TLS ClientHello's
server_name maps its destination address. Emits :class:`agent.events.NameSeen`.
Without CAP_NET_RAW the monitor is "off" and says so; categories then rely on
reverse-less matching only (no names).
"""

from __future__ import annotations

import ctypes
import errno
import logging
import queue
import select
import socket
import struct
import threading
import time

from agent.events import MonitorState, NameSeen

log = logging.getLogger("agent.capture")

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26


def _bpf() -> list[tuple[int, int, int, int]]:
    """udp src port 53 or tcp dst port 443, for IPv4 and plain IPv6 over Ethernet framing."""
    LDH, LDB, LDXB_MSH, LDH_IND, JEQ, RET = 0x28, 0x30, 0xB1, 0x48, 0x15, 0x06
    prog: list[tuple] = [
        ("l0", LDH, "", "", 12),
        ("", JEQ, "", "v6", 0x0800),
        ("", LDB, "", "", 23),
        ("", JEQ, "", "v4tcp", 17),
        ("", LDXB_MSH, "", "", 14),
        ("", LDH_IND, "", "", 14),
        ("", JEQ, "ok", "no", 53),
        ("v4tcp", JEQ, "", "no", 6),
        ("", LDXB_MSH, "", "", 14),
        ("", LDH_IND, "", "", 16),
        ("", JEQ, "ok", "no", 443),
        ("v6", JEQ, "", "no", 0x86DD),
        ("", LDB, "", "", 20),
        ("", JEQ, "", "v6tcp", 17),
        ("", LDH, "", "", 54),
        ("", JEQ, "ok", "no", 53),
        ("v6tcp", JEQ, "", "no", 6),
        ("", LDH, "", "", 56),
        ("", JEQ, "ok", "no", 443),
        ("ok", RET, "", "", 1500),
        ("no", RET, "", "", 0),
    ]
    labels = {row[0]: i for i, row in enumerate(prog) if row[0]}
    out = []
    for i, (_, code, jt, jf, k) in enumerate(prog):
        jt_n = labels[jt] - i - 1 if jt else 0
        jf_n = labels[jf] - i - 1 if jf else 0
        out.append((code, jt_n, jf_n, k))
    return out


def _read_name(msg: bytes, off: int, depth: int = 0) -> tuple[str, int]:
    labels, jumped, end = [], False, off
    while off < len(msg) and depth < 20:
        n = msg[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(msg):
                raise ValueError("truncated pointer")
            ptr = ((n & 0x3F) << 8) | msg[off + 1]
            if not jumped:
                end = off + 2
            jumped = True
            off = ptr
            depth += 1
            continue
        labels.append(msg[off + 1 : off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels).lower(), (end if jumped else off)


def parse_dns_answers(msg: bytes) -> list[tuple[str, str]]:
    """(ip, queried name) pairs from a DNS response."""
    if len(msg) < 12:
        return []
    _id, flags, qd, an = struct.unpack_from(">HHHH", msg, 0)
    if not flags & 0x8000:
        return []
    off, qname = 12, ""
    for _ in range(qd):
        qname, off = _read_name(msg, off)
        off += 4
    aliases: dict[str, str] = {}
    out = []
    for _ in range(an):
        name, off = _read_name(msg, off)
        if off + 10 > len(msg):
            break
        rtype, _cls, _ttl, rdlen = struct.unpack_from(">HHIH", msg, off)
        off += 10
        rdata = msg[off : off + rdlen]
        asked = aliases.get(name, name)
        if rtype == 5:  # CNAME: remember the original question
            target, _ = _read_name(msg, off)
            aliases[target] = asked
        elif rtype == 1 and rdlen == 4:
            out.append((socket.inet_ntop(socket.AF_INET, rdata), qname or asked))
        elif rtype == 28 and rdlen == 16:
            out.append((socket.inet_ntop(socket.AF_INET6, rdata), qname or asked))
        off += rdlen
    return out


def parse_sni(payload: bytes) -> str | None:
    """server_name of a TLS ClientHello, or None."""
    try:
        if len(payload) < 43 or payload[0] != 0x16 or payload[5] != 0x01:
            return None
        off = 5 + 4 + 2 + 32  # record header, handshake header, version, random
        off += 1 + payload[off]  # session id
        (n,) = struct.unpack_from(">H", payload, off)
        off += 2 + n  # cipher suites
        off += 1 + payload[off]  # compression
        (ext_total,) = struct.unpack_from(">H", payload, off)
        off += 2
        end = min(len(payload), off + ext_total)
        while off + 4 <= end:
            etype, elen = struct.unpack_from(">HH", payload, off)
            off += 4
            if etype == 0:
                (_list_len,) = struct.unpack_from(">H", payload, off)
                if payload[off + 2] == 0:
                    (nlen,) = struct.unpack_from(">H", payload, off + 3)
                    return payload[off + 5 : off + 5 + nlen].decode("ascii").lower()
            off += elen
    except (IndexError, struct.error, UnicodeDecodeError):
        return None
    return None


def parse_frame(frame: bytes) -> list[tuple[str, str, str]]:
    """(ip, name, source) found in one Ethernet frame."""
    if len(frame) < 34:
        return []
    ethertype = struct.unpack_from(">H", frame, 12)[0]
    if ethertype == 0x0800:
        ihl = (frame[14] & 0x0F) * 4
        proto, l4 = frame[23], 14 + ihl
        dst = socket.inet_ntop(socket.AF_INET, frame[30:34])
    elif ethertype == 0x86DD and len(frame) >= 54:
        proto, l4 = frame[20], 54
        dst = socket.inet_ntop(socket.AF_INET6, frame[38:54])
    else:
        return []
    if proto == 17:
        return [(ip, name, "dns") for ip, name in parse_dns_answers(frame[l4 + 8 :])]
    if proto == 6 and len(frame) >= l4 + 20:
        doff = (frame[l4 + 12] >> 4) * 4
        name = parse_sni(frame[l4 + doff :])
        return [(dst, name, "sni")] if name else []
    return []


class CaptureMonitor:
    name = "capture"

    def __init__(self, out: "queue.Queue[object]") -> None:
        self.out = out
        self.drops = 0  # names lost to a full agent queue
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sock: socket.socket | None = None

    def start(self) -> bool:
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except (PermissionError, OSError) as e:
            why = "not permitted (needs root/CAP_NET_RAW)" if isinstance(e, PermissionError) or e.errno in (errno.EPERM, errno.EACCES) else str(e)
            self.out.put(MonitorState(self.name, "off", f"DNS/SNI capture {why}", time.time()))
            return False
        prog = _bpf()
        buf = ctypes.create_string_buffer(b"".join(struct.pack("=HBBI", *ins) for ins in prog))
        fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        self._filter_buf = buf  # the kernel copies it, but keep it alive until setsockopt returned
        sock.setblocking(False)
        self.sock = sock
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()
        self.out.put(MonitorState(self.name, "ok", None, time.time()))
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.sock is not None:
            self.sock.close()

    def _run(self) -> None:
        assert self.sock is not None
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN)
        seen: dict[tuple[str, str], float] = {}
        while not self._stop.is_set():
            if not poller.poll(200):
                continue
            while True:
                try:
                    frame = self.sock.recv(2048)
                except BlockingIOError:
                    break
                except OSError:
                    return
                now = time.time()
                for ip, name, source in parse_frame(frame):
                    if seen.get((ip, name), 0) > now - 30:
                        continue  # loopback shows each packet twice; answers repeat
                    if len(seen) > 10000:
                        seen.clear()
                    seen[(ip, name)] = now
                    try:
                        self.out.put_nowait(NameSeen(ip, name, source, now))
                    except queue.Full:
                        self.drops += 1  # reported in heartbeats (monitor_drops)

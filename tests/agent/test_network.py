"""Outbound traffic on loopback only (127.0.0.0/8): sock_diag counters, DNS and
SNI capture over AF_PACKET, forbidden categories, read-then-send."""

from __future__ import annotations

import os
import queue
import random
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.monitors.capture import parse_dns_answers, parse_sni
from agent.monitors.network import NetworkMonitor
from tests.agent.conftest import REPO, SENSITIVE, events_of, needs_root, wait_for, write_config


class Sink:
    """A TCP server on a loopback address that reads and discards what it gets."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen()
        self.addr = self.sock.getsockname()
        self.received = 0
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                self.received += len(data)

    def close(self) -> None:
        self._stop = True
        self.sock.close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink()
    yield s
    s.close()


def test_sock_diag_counts_outbound_bytes_per_process(sink: Sink) -> None:
    mon = NetworkMonitor(queue.Queue(), interval=1, include_loopback=True)
    c = socket.create_connection(sink.addr)
    try:
        c.sendall(b"x" * 100_000)
        wait_for(lambda: sink.received >= 100_000)
        first = [e for e in mon.sample() if e.port == sink.addr[1]]
        assert len(first) == 1  # the server side (a listening port) is not "outbound"
        ev = first[0]
        assert ev.pid == os.getpid() and ev.new and ev.ip == "127.0.0.1"
        assert ev.bytes_sent >= 100_000
        c.sendall(b"y" * 50_000)
        wait_for(lambda: sink.received >= 150_000)
        (second,) = [e for e in mon.sample() if e.port == sink.addr[1]]
        assert not second.new and 50_000 <= second.bytes_sent < 60_000
        assert not [e for e in mon.sample() if e.port == sink.addr[1]]  # nothing sent: nothing said
    finally:
        c.close()
    assert not [e for e in NetworkMonitor(queue.Queue(), interval=1, include_loopback=False).sample() if e.ip.startswith("127.")]


def _dns_response(qname: str, ip: str) -> bytes:
    def name(n: str) -> bytes:
        return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"

    header = struct.pack(">HHHHHH", 0x1234, 0x8180, 1, 2, 0, 0)
    question = name(qname) + struct.pack(">HH", 1, 1)
    cname_target = "edge." + qname
    cname = b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 60, len(name(cname_target))) + name(cname_target)
    a = name(cname_target) + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(ip)
    return header + question + cname + a


def test_dns_and_sni_parsers() -> None:
    assert parse_dns_answers(_dns_response("files.pastebin.com", "127.0.0.99")) == [("127.0.0.99", "files.pastebin.com")]
    assert parse_dns_answers(b"\x00" * 5) == []
    ctx = ssl.create_default_context()
    out = ssl.MemoryBIO()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname="Chat.OpenAI.com")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    assert parse_sni(out.read()) == "chat.openai.com"
    assert parse_sni(b"\x16\x03\x01\x00\x05garbage" * 5) is None
    assert parse_sni(b"") is None


def _net_config(tmp_path: Path):
    return write_config(
        tmp_path,
        network={"enabled": True, "destinations": str(REPO / "configs" / "destinations.yaml"), "interval": 0.3,
                 "include_loopback": True, "internal_networks": []},
    )


@needs_root
def test_tls_to_an_ai_service_is_a_forbidden_destination(tmp_path: Path, run_agent) -> None:
    cfg = _net_config(tmp_path)
    agent = run_agent(cfg)
    wait_for(lambda: agent.pipeline.status.monitors.get("capture") == "ok")
    addr = f"127.88.{random.randrange(1, 255)}.{random.randrange(1, 255)}"  # port 443 must be free on it
    server = Sink(addr, 443)
    try:
        raw = socket.create_connection((addr, 443))
        tls = ssl.create_default_context().wrap_socket(raw, server_hostname="api.openai.com", do_handshake_on_connect=False)
        tls.setblocking(False)
        try:
            tls.do_handshake()  # sends the ClientHello; the sink never answers
        except ssl.SSLWantReadError:
            pass
        ev = wait_for(lambda: events_of(cfg.state_dir, "net.forbidden_destination"), timeout=10)[0]
        tls.close()
    finally:
        server.close()
    assert ev["destination"]["host"] == "api.openai.com" and ev["destination"]["category"] == "ai_services"
    assert ev["destination"]["ip"] == addr and ev["destination"]["port"] == 443
    assert ev["process"]["pid"] == os.getpid()


@needs_root
def test_dns_answer_names_the_destination(tmp_path: Path, run_agent) -> None:
    cfg = _net_config(tmp_path)
    agent = run_agent(cfg)
    wait_for(lambda: agent.pipeline.status.monitors.get("capture") == "ok")
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind(("127.0.0.53", 53))
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink = Sink("127.0.0.99", 0)
    try:
        client.sendto(b"query", ("127.0.0.53", 53))
        _, addr = dns.recvfrom(512)
        dns.sendto(_dns_response("files.pastebin.com", "127.0.0.99"), addr)
        client.recv(512)
        time.sleep(0.2)
        c = socket.create_connection(sink.addr)
        c.sendall(b"paste " * 1000)
        ev = wait_for(lambda: events_of(cfg.state_dir, "net.forbidden_destination"), timeout=10)[0]
        c.close()
    finally:
        dns.close()
        client.close()
        sink.close()
    assert ev["destination"]["host"] == "files.pastebin.com" and ev["destination"]["category"] == "paste_sites"


@needs_root
def test_process_that_read_a_sensitive_file_then_sends_out_is_flagged(tmp_path: Path, run_agent, sink: Sink) -> None:
    cfg = _net_config(tmp_path)
    agent = run_agent(cfg)
    wait_for(lambda: agent.pipeline.status.monitors.get("fanotify") == "ok")
    secret = Path(cfg.files.roots[0]) / "staff.txt"
    secret.write_bytes(SENSITIVE)
    wait_for(lambda: events_of(cfg.state_dir, "file.create"))
    code = (
        "import os, socket, sys, time\n"
        f"data = open({str(secret)!r}, 'rb').read()\n"
        "time.sleep(0.5)\n"
        f"c = socket.create_connection(({sink.addr[0]!r}, {sink.addr[1]}))\n"
        "c.sendall(data * 100)\n"
        "print(os.getpid(), flush=True)\n"
        "time.sleep(3)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(p.stdout.readline())  # type: ignore[union-attr]
        ev = wait_for(lambda: events_of(cfg.state_dir, "net.transfer"), timeout=10)[0]
    finally:
        p.kill()
        p.wait()
    assert ev["process"]["pid"] == pid and ev["file"]["path"] == str(secret)
    assert ev["attributes"]["rule"] == "sensitive_read_then_send"
    assert ev["attributes"]["detectors"] == ["pii.cn_resident_id"]
    assert ev["destination"]["bytes_sent"] >= len(SENSITIVE) * 100


def test_samples_that_do_not_fit_a_full_queue_are_counted(sink: Sink) -> None:
    full: queue.Queue[object] = queue.Queue(maxsize=2)
    full.put("the dispatcher is behind")  # the monitor's own "ok" state takes the last slot
    mon = NetworkMonitor(full, interval=0.2, include_loopback=True)
    conns = [socket.create_connection(sink.addr) for _ in range(3)]
    try:
        for c in conns:
            c.sendall(b"x" * 1000)
        mon.start()
        wait_for(lambda: mon.drops >= 3)  # three new connections in the first sample, none fitted
    finally:
        mon.stop()
        for c in conns:
            c.close()


def test_heartbeats_report_queue_depth_and_drops_per_monitor(tmp_path: Path, run_agent, sink: Sink) -> None:
    cfg = write_config(tmp_path, network={"enabled": True, "interval": 0.2, "include_loopback": True, "capture": "off"},
                       heartbeat_interval=0.5)
    agent = run_agent(cfg)
    net = next(m for m in agent.monitors if m.name == "network")
    net.drops = 7  # what the monitor counted (the counting itself is tested above on a real full queue)
    hb = wait_for(lambda: [e["attributes"] for e in events_of(cfg.state_dir, "agent.heartbeat")
                           if e["attributes"]["monitor_drops"].get("network") == 7])[0]
    assert hb["queue_max"] == cfg.files.queue_max and 0 <= hb["queue_depth"] <= hb["queue_max"]
    assert {"files", "health", "network"} <= set(hb["monitor_drops"])

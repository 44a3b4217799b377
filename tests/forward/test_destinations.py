"""Every destination delivering to a real receiver on loopback, through the outbox."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from server.forward import webhook
from server.forward.destination import Delivery, Resources
from server.forward.outbox import Forwarder
from server.forward.sla import SlaWatcher
from server.store.sql import SqlStore
from tests.forward.conftest import Clock, forward_config, make_alert
from tests.forward.receivers import HttpReceiver, SmtpReceiver, SyslogReceiver, server_tls


async def deliver(store: SqlStore, resources: Resources, destinations: dict, **alert_over: object) -> list:
    fw = Forwarder(forward_config(destinations), store)
    alert = await store.insert_alert(make_alert(**alert_over))
    await fw.on_alert(alert)
    assert await fw.deliver_once(resources) == len(destinations)
    items = await store.outbox_list(None, 100)
    await fw.close()
    return items


async def test_webhook_signed_with_idempotency_key(sqlite_store: SqlStore, receiver: HttpReceiver,
                                                   resources: Resources) -> None:
    [item] = await deliver(sqlite_store, resources, {"siem": {"type": "webhook", "url": receiver.url("/hook"),
                                                             "secret": "hook-secret", "headers": {"X-Tenant": "t1"}}})
    assert item.status == "delivered" and item.attempts == 1
    [req] = receiver.at("/hook")
    assert req.json() == item.payload  # exactly the stored (OCSF) document
    assert req.headers["Idempotency-Key"] == item.key
    assert req.headers["X-Tenant"] == "t1"
    assert req.headers["Content-Type"] == "application/json"
    assert webhook.verify_signature("hook-secret", req.headers["X-LeakWarden-Signature"], req.body, now=time.time())
    assert not webhook.verify_signature("other-secret", req.headers["X-LeakWarden-Signature"], req.body,
                                        now=time.time())
    assert not webhook.verify_signature("hook-secret", req.headers["X-LeakWarden-Signature"], req.body + b" ",
                                        now=time.time())
    assert not webhook.verify_signature("hook-secret", req.headers["X-LeakWarden-Signature"], req.body,
                                        now=time.time() + 3600)  # replayed an hour later


async def test_slack_teams_thehive(sqlite_store: SqlStore, receiver: HttpReceiver, resources: Resources) -> None:
    items = await deliver(sqlite_store, resources, {
        "slack": {"type": "slack", "url": receiver.url("/services/T0/B0/xyz")},
        "teams": {"type": "teams", "url": receiver.url("/webhookb2/abc")},
        "hive": {"type": "thehive", "url": receiver.url("/thehive"), "api_key": "hive-key",
                 "organisation": "SOC"},
    })
    by_dest = {i.destination: i for i in items}
    assert all(i.status == "delivered" for i in items)
    assert receiver.at("/services/T0/B0/xyz")[0].json() == by_dest["slack"].payload
    assert receiver.at("/webhookb2/abc")[0].json() == by_dest["teams"].payload
    [hive] = receiver.at("/thehive/api/v1/alert")
    assert hive.json() == by_dest["hive"].payload
    assert hive.headers["Authorization"] == "Bearer hive-key" and hive.headers["X-Organisation"] == "SOC"
    assert hive.json()["sourceRef"] == f"lw-{by_dest['hive'].alert_id}"  # one per LeakWarden alert


async def test_thehive_retry_after_lost_answer_creates_no_duplicate(sqlite_store: SqlStore, receiver: HttpReceiver,
                                                                     resources: Resources) -> None:
    cfg = forward_config({"hive": {"type": "thehive", "url": receiver.url("/thehive"), "api_key": "k"}})
    dest = cfg.destinations["hive"]
    fw = Forwarder(cfg, sqlite_store)
    [item] = fw.items(fw.view(make_alert()), cfg.router.routes, "level:high", 0.0)
    sender = dest.type.sender(dest.settings, resources)
    # The first POST created the alert but (say) the answer was lost: the outbox sends it again.
    await sender.send(item.payload, Delivery(item.key, "7", 1))
    await sender.send(item.payload, Delivery(item.key, "7", 2))  # "already exists": found and updated, same content
    assert len(receiver.at("/thehive/api/v1/alert")) == 1 and len(receiver.hive_alerts) == 1


async def test_thehive_later_deliveries_update_the_one_alert(sqlite_store: SqlStore, receiver: HttpReceiver,
                                                             resources: Resources, clock: Clock) -> None:
    """Level rise, SLA escalation and a repeat summary of one LeakWarden alert: one TheHive alert, updated."""
    cfg = forward_config({"hive": {"type": "thehive", "url": receiver.url("/thehive"), "api_key": "k"}},
                         dedup={"window": "5m"})
    fw = Forwarder(cfg, sqlite_store, clock=clock)
    alert = await sqlite_store.insert_alert(make_alert(level="medium", score=40))
    await fw.on_alert(alert)
    await fw.deliver_once(resources)
    alert.level, alert.score = "high", 70  # the incident grew: the listener hears of it again
    await sqlite_store.update_alert(alert)
    await fw.on_alert(alert)
    await fw.deliver_once(resources)
    await fw.on_alert(await sqlite_store.insert_alert(make_alert(level="medium", score=40,  # a repeat
                                                                 sla_deadline=clock.now + 86400)))
    clock.advance(3600 + 1)
    await SlaWatcher(sqlite_store, fw, cfg.sla, clock).check_once()
    await fw.deliver_once(resources)
    assert [i.status for i in await sqlite_store.outbox_page()] == ["delivered"] * 4
    [(hive_id, hive)] = receiver.hive_alerts.items()
    assert hive["sourceRef"] == f"lw-{alert.id}" and len(receiver.at("/thehive/api/v1/alert")) == 1
    assert [p[0] for p in receiver.hive_patches] == [hive_id] * 3
    severities = sorted(p[1]["severity"] for p in receiver.hive_patches)
    assert severities == [2, 3, 4]  # repeat summary (medium), level rose (high), escalated (critical)
    assert [p[1]["severity"] for p in receiver.hive_patches if "escalated" in p[1]["tags"]] == [4]
    assert any("×2" in p[1]["title"] for p in receiver.hive_patches)


async def test_email_starttls_auth_text_and_html(sqlite_store: SqlStore, smtp: SmtpReceiver, resources: Resources,
                                                 tls_files: tuple[Path, Path]) -> None:
    [item] = await deliver(sqlite_store, resources, {"mail": {
        "type": "email", "host": "localhost", "port": smtp.port, "security": "starttls",
        "username": SmtpReceiver.USER, "password": SmtpReceiver.PASSWORD, "ca_file": str(tls_files[0]),
        "from": "leakwarden@example.org", "to": ["soc@example.org"], "cc": ["ciso@example.org"]}},
        path="/home/alice/<script>alert('x')</script>.docx")
    assert item.status == "delivered", item.last_error
    assert smtp.logins == [SmtpReceiver.USER]
    [(mail_from, rcpts, msg)] = smtp.messages
    assert mail_from == "leakwarden@example.org" and rcpts == ["soc@example.org", "ciso@example.org"]
    assert msg["Subject"] == item.payload["subject"]
    assert msg["Message-ID"] == item.payload["message_id"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert text.replace("\r\n", "\n").rstrip("\n") == item.payload["text"]
    assert "File: /home/alice/<script>alert('x')</script>.docx" in text
    assert "<script>" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


async def test_email_wrong_password_is_dead_at_once(sqlite_store: SqlStore, smtp: SmtpReceiver,
                                                    resources: Resources) -> None:
    [item] = await deliver(sqlite_store, resources, {"mail": {
        "type": "email", "host": "127.0.0.1", "port": smtp.port, "username": SmtpReceiver.USER,
        "password": "wrong", "verify": False, "from": "lw@example.org", "to": ["soc@example.org"]}})
    assert item.status == "dead" and item.attempts == 1
    assert "authentication failed" in (item.last_error or "")
    assert smtp.messages == []


async def test_syslog_udp_tcp_tls(sqlite_store: SqlStore, resources: Resources, tls_files: tuple[Path, Path]) -> None:
    udp = await SyslogReceiver("udp").start()
    tcp = await SyslogReceiver("tcp").start()
    tls = await SyslogReceiver("tls", server_tls(*tls_files)).start()
    try:
        items = await deliver(sqlite_store, resources, {
            "udp": {"type": "syslog", "host": "127.0.0.1", "port": udp.port, "transport": "udp"},
            "tcp": {"type": "syslog", "host": "127.0.0.1", "port": tcp.port, "transport": "tcp", "format": "cef"},
            "tls": {"type": "syslog", "host": "localhost", "port": tls.port, "transport": "tls",
                    "ca_file": str(tls_files[0])},
        })
        by_dest = {i.destination: i for i in items}
        assert {i.status for i in items} == {"delivered"}
        for name, rx in (("udp", udp), ("tcp", tcp), ("tls", tls)):
            assert await rx.wait_for(1) == [by_dest[name].payload["message"]]
        assert "CEF:0|LeakWarden|" in tcp.messages[0]
        doc = json.loads(tls.messages[0].split("\ufeff", 1)[1])
        assert doc["class_uid"] == 2006 and doc["metadata"]["uid"] == by_dest["tls"].key
    finally:
        for rx in (udp, tcp, tls):
            await rx.stop()


async def test_syslog_tcp_reconnects_after_receiver_restart(sqlite_store: SqlStore, resources: Resources) -> None:
    rx = await SyslogReceiver("tcp").start()
    cfg = forward_config({"tcp": {"type": "syslog", "host": "127.0.0.1", "port": rx.port, "transport": "tcp"}})
    fw = Forwarder(cfg, sqlite_store)
    await fw.on_alert(await sqlite_store.insert_alert(make_alert()))
    await fw.deliver_once(resources)
    await rx.wait_for(1)
    await rx.stop()
    rx2 = SyslogReceiver("tcp")
    rx2.port = rx.port
    await rx2.start()
    await asyncio.sleep(0.05)  # let the closed connection's EOF reach the sender
    try:
        second = await sqlite_store.insert_alert(make_alert(content_hash="77" * 32))
        await fw.on_alert(second)
        await fw.deliver_once(resources)
        [msg] = await rx2.wait_for(1)
        assert f'alert="{second.id}"' in msg
    finally:
        await fw.close()
        await rx2.stop()


async def test_jsonl_file_fsynced_and_rotated(sqlite_store: SqlStore, resources: Resources, tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    cfg = forward_config({"file": {"type": "jsonl", "path": str(path), "max_bytes": 8192, "keep": 3}},
                         dedup={"window": 0})
    fw = Forwarder(cfg, sqlite_store)
    for _ in range(20):
        await fw.on_alert(await sqlite_store.insert_alert(make_alert()))
    await fw.deliver_once(resources)
    await fw.close()
    files = sorted(tmp_path.glob("alerts.jsonl*"))
    assert [f.name for f in files] == ["alerts.jsonl", "alerts.jsonl.1", "alerts.jsonl.2", "alerts.jsonl.3"]
    lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert all(f.stat().st_size <= 8192 for f in files)
    payloads = {i.key: i.payload for i in await sqlite_store.outbox_list("delivered", 100)}
    # keep=3 rotated files: the oldest lines fell off the end, every line left is an exact payload
    assert 4 <= len(lines) < 20 and all(doc == payloads[doc["metadata"]["uid"]] for doc in lines)
    newest = json.loads(path.read_text().splitlines()[-1])
    assert newest["finding_info"]["uid"] == "20"

"""Seed a real store with alerts, agents, devices, an incident and users (through the store's API)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from server import auth
from server.store.interface import Agent, Alert, Device, EventRecord, Incident, Store

XSS_NAME = "<img src=x onerror=alert(1)>.docx"
XSS_HOST = "<script>alert('host')</script>"
PASSWORD = "correct-horse-battery"


@dataclass(slots=True)
class Seeded:
    worst_id: int
    xss_id: int
    incident_id: int
    archive_id: int
    ids: list[int]


def _finding(detector: str, severity: str, masked: str, path: str, **loc: object) -> dict:
    return {"detector": detector, "severity": severity, "confidence": 0.95,
            "location": {"path": path, "start": 10, "end": 28, **loc},
            "masked": masked, "hash": "ab" * 32}


def make_alert(i: int, *, level: str, score: int, host: str, user: str, path: str, detectors: list[str],
               now: float, status: str = "new", evidence: list[dict] | None = None, title: str | None = None,
               event_id: str | None = None, incident_id: int | None = None, channel: str = "local",
               when: float | None = None, kind: str = "file.write") -> Alert:
    return Alert(
        id=0, created_at=now - 600 + i, updated_at=now - 600 + i, time=when or now - 3600 * (i % 48) - 700,
        kind=kind, title=title or f"{', '.join(detectors)} · {kind} · {path.rsplit('/', 1)[-1]}",
        agent_id="agent-1", event_id=event_id, host=host, user=user, channel=channel, path=path,
        device=None, destination=None, content_hash=None, detectors=detectors, score=score, level=level,
        explanation=[{"factor": "detector", "detail": f"{detectors[0]} ({level}, confidence 0.95)", "points": score - 5},
                     {"factor": "channel", "detail": "local disk", "points": 5}],
        evidence=evidence or [_finding(detectors[0], level, "6501**********0877", path, line=3)],
        status=status, sla_deadline=now + 3600, incident_id=incident_id,
    )


async def seed(store: Store, *, now: float | None = None) -> Seeded:
    now = time.time() if now is None else now
    await auth.add_user(store, "alice", "analyst", PASSWORD)
    await auth.add_user(store, "victor", "viewer", PASSWORD)
    await auth.add_user(store, "root", "admin", PASSWORD)
    ids: list[int] = []
    # background: 60 alerts of every level on several hosts
    levels = [("low", 20), ("medium", 40), ("high", 62), ("critical", 82)]
    for i in range(60):
        level, score = levels[i % 4]
        a = await store.insert_alert(make_alert(
            i, level=level, score=score + i % 7, host=f"ws-{i % 5:02d}", user=f"user{i % 6}",
            path=f"/home/user{i % 6}/docs/report-{i}.txt", detectors=["pii.cn_mobile"] if i % 2 else ["pii.email"],
            now=now))
        ids.append(a.id)
    # the worst alert: a state-secret marked document copied to USB, inside an archive
    event_id = str(uuid.uuid4())
    await store.insert_events([EventRecord(
        id=event_id, agent_id="agent-1", seq=1, time=now - 700, received_at=now - 690, kind="device.write",
        channel="removable", host="finance-01", user="zhang.wei", path="/media/usb/季度报告.zip",
        content_hash=None, device_key="0781:5581:4C530001",
        data={"id": event_id, "seq": 1, "time": now - 700, "kind": "device.write", "channel": "removable",
              "host": "finance-01", "user": "zhang.wei",
              "process": {"pid": 4242, "name": "cp", "exe": "/usr/bin/cp"},
              "file": {"path": "/media/usb/季度报告.zip", "size": 48213, "media_type": "application/zip"},
              "device": {"vendor_id": "0781", "product_id": "5581", "vendor": "SanDisk", "model": "Cruzer",
                         "serial": "4C530001", "label": "KINGSTON", "mountpoint": "/media/usb", "policy": "alert"},
              "findings": []})])
    worst = await store.insert_alert(make_alert(
        100, level="critical", score=97, host="finance-01", user="zhang.wei", path="/media/usb/季度报告.zip",
        detectors=["marking.cn_state_secret", "pii.cn_resident_id"], now=now, event_id=event_id, channel="removable",
        when=now - 700, kind="device.write",
        title="marking.cn_state_secret · device.write · 季度报告.zip",
        evidence=[_finding("marking.cn_state_secret", "critical", "机密★5年", "/media/usb/季度报告.zip!报告/正文.docx",
                           part="header", line=1),
                  _finding("pii.cn_resident_id", "high", "1101**********1234",
                           "/media/usb/季度报告.zip!报告/名单.xlsx", sheet="员工", cell="C7")]))
    ids.append(worst.id)
    # attacker-controlled names
    xss = await store.insert_alert(make_alert(
        101, level="high", score=70, host=XSS_HOST, user="<b>mallory</b>", path=f"/tmp/{XSS_NAME}",
        detectors=["secret.aws_access_key"], now=now, title=f"secret.aws_access_key · file.write · {XSS_NAME}",
        evidence=[_finding("secret.aws_access_key", "high", "AKIA************MPLE", f"/tmp/{XSS_NAME}", page=2)]))
    ids.append(xss.id)
    inc = await store.insert_incident(Incident(
        id=0, created_at=now - 300, updated_at=now - 100, host="finance-01", user="zhang.wei", content_hash=None,
        device_key="0781:5581:4C530001", score=99, level="critical", status="open", alert_count=1,
        steps=[{"time": now - 300, "kind": "file.write", "channel": "local", "alert_id": None, "event_id": "e0"},
               {"time": now - 120, "kind": "device.write", "channel": "removable", "alert_id": worst.id,
                "event_id": event_id}],
        explanation=[{"factor": "steps", "detail": "2 steps", "points": 99}]))
    worst.incident_id = inc.id
    await store.update_alert(worst)
    for agent in (Agent(
        id="agent-1", token_hash="0" * 64, hostname="finance-01", version="0.1.0", os="Debian 12",
        enrolled_at=now - 86400, last_seen=now - 20, config_hash="c0ffee" * 4,
        monitors={"files": "ok", "devices": "ok", "network": "degraded"}, spool_depth=3, drops=0,
        degraded=["network: AF_PACKET unavailable"]), Agent(
        id="agent-2", token_hash="1" * 64, hostname=XSS_HOST, version="0.1.0", os="Debian 12",
        enrolled_at=now - 86400, last_seen=now - 7200, monitors={"files": "ok"}, spool_depth=120)):
        await store.create_agent(agent)
        await store.update_agent(agent)  # health fields are written by heartbeats, not enrollment
    await store.upsert_device(Device(
        id=0, key="0781:5581:4C530001", vendor_id="0781", product_id="5581", vendor="SanDisk", model="Cruzer",
        serial="4C530001", fs_uuid=None, label="<i>USB</i>", first_seen=now - 5000, last_seen=now - 120,
        last_host="finance-01"))
    return Seeded(worst_id=worst.id, xss_id=xss.id, incident_id=inc.id, archive_id=worst.id, ids=ids)

"""A sensitive file dropped into a watched folder becomes an alert; copied to removable media, it joins the incident."""

from __future__ import annotations

import shutil
import socket
import time
from email import message_from_bytes
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.e2e.conftest import loop_mount
from tests.e2e.harness import wait_for

ID = "110105199003071239"  # synthetic, GB 11643-valid
DOC = f"机密★5年\n\n关于人员调整的通知\n张三，身份证号{ID}，联系电话 139-1234-8765。\n"


class Inbox:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dropped_file_becomes_an_alert_then_the_usb_copy_joins_its_incident(deploy, tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        _scenario(deploy, tmp_path, usb, inbox, smtp.port)
    finally:
        smtp.stop()


def _scenario(deploy, tmp_path: Path, usb: Path, inbox: Inbox, smtp_port: int) -> None:
    forward = {"forward": {"enabled": True, "destinations": {"responders": {
        "type": "email", "host": "127.0.0.1", "port": smtp_port, "security": "none",
        "from": "leakwarden@example.org", "to": ["soc@example.org"]}},
        "routes": [{"name": "all", "to": ["responders"]}]}}
    with loop_mount(tmp_path / "usb.img", usb):
        d = deploy(agent_extra={"devices": {"removable_mounts": [str(usb)]}}, server_extra=forward)
        started = time.monotonic()
        (d.watch / "人员调整.txt").write_text(DOC, encoding="utf-8")
        alert = d.alert_for("人员调整.txt", timeout=30)
        latency = time.monotonic() - started
        assert latency < 15, f"alert took {latency:.1f}s"
        assert {"pii.cn_resident_id", "pii.cn_mobile", "marking.cn_state_secret"} <= set(alert["detectors"])
        assert alert["level"] in ("high", "critical") and alert["score"] >= 55
        factors = {f["factor"] for f in alert["explanation"]}
        assert "marking" in factors
        detail = d.api("GET", f"/api/v1/alerts/{alert['id']}")
        assert ID not in str(detail)  # evidence is redacted

        shutil.copy(d.watch / "人员调整.txt", usb / "copy.txt")
        usb_alert = d.alert_for("copy.txt", timeout=30)
        assert usb_alert["channel"] == "removable"
        assert usb_alert["incident_id"] is not None and usb_alert["incident_id"] == alert["incident_id"]
        assert usb_alert["score"] > alert["score"]
        incident = d.api("GET", f"/api/v1/incidents/{alert['incident_id']}")
        assert incident["score"] >= usb_alert["score"]

        # the responders' inbox got the alert, redacted
        mails = wait_for("the alert e-mail", lambda: [m for m in inbox.messages if "人员调整".encode() in m
                                                         or "人员调整" in _text(m)], 30)
        assert not any(ID.encode() in m or ID in _text(m) for m in inbox.messages)
        assert "pii.cn_resident_id" in _text(mails[0])
        d.stop()


def _text(raw: bytes) -> str:
    msg = message_from_bytes(raw)
    parts = msg.walk() if msg.is_multipart() else [msg]
    return "\n".join(str(p["Subject"] or "") + (p.get_payload(decode=True) or b"").decode(p.get_content_charset() or "utf-8", "replace")
                     for p in parts if not p.is_multipart())

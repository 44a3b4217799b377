"""A sensitive file dropped into a watched folder becomes an alert; copied to removable media, it joins the incident."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from tests.e2e.conftest import loop_mount
from tests.e2e.harness import wait_for

ID = "110105199003071239"  # synthetic, GB 11643-valid
DOC = f"机密★5年\n\n关于人员调整的通知\n张三，身份证号{ID}，联系电话 139-1234-8765。\n"


def test_dropped_file_becomes_an_alert_then_the_usb_copy_joins_its_incident(deploy, tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    with loop_mount(tmp_path / "usb.img", usb):
        d = deploy(agent_extra={"devices": {"removable_mounts": [str(usb)]}})
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
        d.stop()
